package redis

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestKeyTemplates(t *testing.T) {
	tests := []struct {
		name, template string
		key            map[string]any
		want           string
	}{
		{"number", "order:{id}", map[string]any{"id": json.Number("123")}, "order:123"},
		{"string", "user:{user_id}:stats", map[string]any{"user_id": "ann"}, "user:ann:stats"},
		{"composite", "item:{order_id}:{line}", map[string]any{"order_id": json.Number("9"), "line": json.Number("2")}, "item:9:2"},
		{"hash tag from literal braces", "cart:{{{user_id}}}", map[string]any{"user_id": json.Number("42")}, "cart:{42}"},
		{"bool and Go integers", "{a}-{b}-{c}", map[string]any{"a": true, "b": 7, "c": int64(-8)}, "true-7--8"},
		{"only a placeholder", "{id}", map[string]any{"id": "x"}, "x"},
		{"no placeholder", "global:stats", nil, "global:stats"},
		{"unicode value", "u:{id}", map[string]any{"id": "Ünï 🚀"}, "u:Ünï 🚀"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(redis.NewClient(&redis.Options{}), []View{{Name: "v", Key: tt.template}}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Key("v", tt.key)
			if err != nil || got != tt.want {
				t.Errorf("Key = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestKeyResolveErrors(t *testing.T) {
	tests := []struct {
		name string
		key  map[string]any
	}{
		{"missing placeholder", map[string]any{"a": "1"}},
		{"null value", map[string]any{"a": "1", "b": nil}},
		{"object value", map[string]any{"a": "1", "b": map[string]any{}}},
		{"array value", map[string]any{"a": "1", "b": []any{"x"}}},
	}
	s, err := New(redis.NewClient(&redis.Options{}), []View{{Name: "v", Key: "p:{a}:{b}"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Key("v", tt.key); !errors.Is(err, ErrKey) {
				t.Errorf("Key: %v, want ErrKey", err)
			}
		})
	}
	if _, err := s.Key("nope", nil); !errors.Is(err, ErrUnknownView) {
		t.Errorf("Key of an unknown view: %v, want ErrUnknownView", err)
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name  string
		views []View
		opts  Options
	}{
		{"unclosed placeholder", []View{{Name: "v", Key: "order:{id"}}, Options{}},
		{"unmatched closing brace", []View{{Name: "v", Key: "order:id}"}}, Options{}},
		{"empty placeholder", []View{{Name: "v", Key: "order:{}"}}, Options{}},
		{"nested brace", []View{{Name: "v", Key: "order:{a{b}"}}, Options{}},
		{"empty template", []View{{Name: "v", Key: ""}}, Options{}},
		{"empty name", []View{{Key: "o:{id}"}}, Options{}},
		{"same view twice", []View{{Name: "v", Key: "a:{id}"}, {Name: "v", Key: "b:{id}"}}, Options{}},
		{"unknown format", []View{{Name: "v", Key: "o:{id}", Format: "xml"}}, Options{}},
		{"negative TTL", []View{{Name: "v", Key: "o:{id}", TTL: -time.Second}}, Options{}},
		{"TTL below a millisecond", []View{{Name: "v", Key: "o:{id}", TTL: time.Microsecond}}, Options{}},
		{"field listed twice", []View{{Name: "v", Key: "o:{id}", Fields: []string{"a", "a"}}}, Options{}},
		{"template in the rev key space", []View{{Name: "v", Key: "projector:rev:x:{id}"}}, Options{}},
		{"negative tombstone TTL", []View{{Name: "v", Key: "o:{id}"}}, Options{TombstoneTTL: -time.Hour}},
		{"rev prefix with a brace", []View{{Name: "v", Key: "o:{id}"}}, Options{RevKeyPrefix: "rev:{x}:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(redis.NewClient(&redis.Options{}), tt.views, tt.opts); !errors.Is(err, ErrInvalidView) {
				t.Errorf("New: %v, want ErrInvalidView", err)
			}
		})
	}
	if _, err := New(nil, nil, Options{}); err == nil {
		t.Error("New without a client succeeded")
	}
}
