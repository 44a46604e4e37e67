package config

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
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

// TestKeysOverlap decides whether two key templates can give one key, a
// placeholder's value being any text, the empty one included.
func TestKeysOverlap(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"order:{id}", "order:{id}", true},
		{"order:{id}", "order:{order_id}", true},
		{"p:{sku}", "p:{sku}:stats", true}, // sku "1:stats"
		{"p:{sku}:stats", "p:{sku}", true},
		{"q{a}x", "qx{b}", true}, // "qx" and "qxx"
		{"a{x}b{y}c", "a{z}c", true},
		{"order:{id}", "orders:{id}", false},
		{"order:{id}", "user:{id}", false},
		{"user:{id}:stats", "user:{id}:orders", false},
		{"{{orders}}:{id}", "{{users}}:{id}", false},
		{"{{orders}}:{id}", "{{orders}}:x:{id}", true},
		{"a:{x}:z", "a:{y}:zz", false}, // one ends ":z", the other "zz"
		{"a:{x}z", "a:{y}:zz", true},   // x ":z"
		{"a:{x}", "b{y}", false},
		{"k:{x}", "k:", true}, // x ""
		{"k:{x}y", "k:", false},
		{"k:{x}{y}", "k:{z}", true},
		// Heads and tails: literal text before the first placeholder and
		// after the last, which a common key starts and ends with.
		{"ab{x}", "a{y}b", true}, // "abb"
		{"{x}ab", "{y}b", true},  // x "", y "a"
		{"ab", "ab", true},
		{"ab", "abc", false},
		{"x{a}y", "x{b}z", false},
		{"{a}", "", true},
		{"a{b}", "", false},
		{"{a}:{b}", "x{c}y", true}, // "x:y"
	}
	for _, tt := range tests {
		a, err := ParseKeyTemplate(tt.a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ParseKeyTemplate(tt.b)
		if err != nil {
			t.Fatal(err)
		}
		if got := KeysOverlap(a, b); got != tt.want {
			t.Errorf("KeysOverlap(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := KeysOverlap(b, a); got != tt.want {
			t.Errorf("KeysOverlap(%q, %q) = %v, want %v", tt.b, tt.a, got, tt.want)
		}
	}
}

// TestKeysOverlapAgreesWithSearch compares KeysOverlap with a search for a
// common key among all short strings, on random templates over a small
// alphabet. The shortest common key, if any, is at most as long as the
// two templates' literal text together.
func TestKeysOverlapAgreesWithSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	template := func() (string, *regexp.Regexp) {
		var tmpl, re strings.Builder
		for range 1 + rng.IntN(4) {
			switch rng.IntN(3) {
			case 0:
				tmpl.WriteString("{f}")
				re.WriteString(".*")
			case 1:
				tmpl.WriteString("a")
				re.WriteString("a")
			default:
				tmpl.WriteString(":")
				re.WriteString(":")
			}
		}
		return tmpl.String(), regexp.MustCompile("^" + re.String() + "$")
	}
	for range 500 {
		a, reA := template()
		b, reB := template()
		want := false
		literals := len(strings.ReplaceAll(a+b, "{f}", ""))
		for n := 0; n <= literals && !want; n++ {
			for i := range 1 << n {
				var s strings.Builder
				for j := range n {
					s.WriteByte("a:"[i>>j&1])
				}
				if reA.MatchString(s.String()) && reB.MatchString(s.String()) {
					want = true
					break
				}
			}
		}
		pa, _ := ParseKeyTemplate(a)
		pb, _ := ParseKeyTemplate(b)
		if got := KeysOverlap(pa, pb); got != want {
			t.Errorf("KeysOverlap(%q, %q) = %v, a search says %v", a, b, got, want)
		}
	}
}
