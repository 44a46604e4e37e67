package redis

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestKeyReader: a key reads back into the values its template was given,
// as long as one reading only fits it.
func TestKeyReader(t *testing.T) {
	digits := map[string]string{"id": `-?[0-9]+`, "a": `-?[0-9]+`}
	for _, tc := range []struct {
		name, template, key string
		shapes              map[string]string
		want                map[string]string // nil: no single reading
	}{
		{"one placeholder", "item:{id}", "item:42", nil, map[string]string{"id": "42"}},
		{"text with separators", "item:{id}", "item:a:b", nil, map[string]string{"id": "a:b"}},
		{"empty value", "item:{id}", "item:", nil, map[string]string{"id": ""}},
		{"another literal", "item:{id}", "order:42", nil, nil},
		{"literal after", "user:{id}:stats", "user:ann:stats", nil, map[string]string{"id": "ann"}},
		{"literal after missing", "user:{id}:stats", "user:ann", nil, nil},
		{"two placeholders", "p:{a}:{b}", "p:1:2", nil, map[string]string{"a": "1", "b": "2"}},
		{"two readings", "p:{a}:{b}", "p:1:2:3", nil, nil},
		{"shape decides", "p:{a}:{b}", "p:1:2:3", digits, map[string]string{"a": "1", "b": "2:3"}},
		{"shape refuses", "item:{id}", "item:v1:5", digits, nil},
		{"hash tag", "cart:{{{id}}}", "cart:{42}", nil, map[string]string{"id": "42"}},
		{"named twice", "x:{id}:{id}", "x:ab:ab", nil, map[string]string{"id": "ab"}},
		{"named twice, differing", "x:{id}:{id}", "x:ab:ac", nil, nil},
		{"inside a character", "u:{a}{b}", "u:é", map[string]string{"a": `[^:]*`, "b": `.+`}, map[string]string{"a": "", "b": "é"}},
	} {
		read, err := KeyReader(tc.template, tc.shapes)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got, ok := read(tc.key)
		if ok != (tc.want != nil) || !maps.Equal(got, tc.want) {
			t.Errorf("%s: %s over %q reads %v, %v; want %v", tc.name, tc.template, tc.key, got, ok, tc.want)
		}
	}
}

// TestScanPattern: SCAN with a template's pattern finds its keys, the
// template's glob characters taken literally.
func TestScanPattern(t *testing.T) {
	client, prefix := testenv.Redis(t)
	ctx := context.Background()
	template := prefix + "a*[b]?\\:{id}"
	mine := []string{prefix + "a*[b]?\\:1", prefix + "a*[b]?\\:x:y"}
	others := []string{prefix + "aX[b]?\\:1", prefix + "a*b?\\:1", prefix + "a*[b]Z\\:2"}
	for _, k := range append(slices.Clone(mine), others...) {
		if err := client.Set(ctx, k, "1", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	pattern, err := ScanPattern(template)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	iter := client.Scan(ctx, 0, pattern, 100).Iterator()
	for iter.Next(ctx) {
		got = append(got, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(mine)
	if !slices.Equal(slices.Compact(got), mine) {
		t.Errorf("SCAN MATCH %q found %q, want %q", pattern, got, mine)
	}
}
