package config

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseKeyTemplate(t *testing.T) {
	f := func(name string) KeyPart { return KeyPart{Text: name, Field: true} }
	l := func(text string) KeyPart { return KeyPart{Text: text} }
	tests := []struct {
		name string
		in   string
		want []KeyPart // nil means an error
	}{
		{"one field", "order:{id}", []KeyPart{l("order:"), f("id")}},
		{"two fields", "user:{user_id}:stats:{day}", []KeyPart{l("user:"), f("user_id"), l(":stats:"), f("day")}},
		{"nested field", "{customer.id}", []KeyPart{f("customer.id")}},
		{"adjacent fields", "{a}{b}", []KeyPart{f("a"), f("b")}},
		{"hash tag", "{{orders}}:{id}", []KeyPart{l("{orders}:"), f("id")}},
		{"hash tag around a field", "o:{{{id}}}", []KeyPart{l("o:{"), f("id"), l("}")}},
		{"literal only", "orders", []KeyPart{l("orders")}},
		{"unclosed", "order:{id", nil},
		{"unopened", "order:id}", nil},
		{"empty placeholder", "order:{}", nil},
		{"nested brace", "order:{a{b}}", nil},
		{"space in name", "{a b}", nil},
		{"leading dot", "{.a}", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKeyTemplate(tt.in)
			if tt.want == nil {
				if !errors.Is(err, ErrKeyTemplate) {
					t.Fatalf("ParseKeyTemplate(%q) = %v, %v; want an ErrKeyTemplate error", tt.in, got, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseKeyTemplate(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}
