package projections

import (
	"reflect"
	"testing"
)

// TestSliceByCharacters: a slice of text counts characters, as len()
// does, from either end and with a bound left out; a slice of an array is
// expr-lang's.
func TestSliceByCharacters(t *testing.T) {
	env := map[string]any{"s": "héllo wörld", "a": []any{int64(1), int64(2), int64(3), int64(4)}}
	for src, want := range map[string]any{
		`s[0:2]`:       "hé",
		`s[7:]`:        "örld",
		`s[:5]`:        "héllo",
		`s[-5:]`:       "wörld",
		`s[2:-2]`:      "llo wör",
		`s[9:3]`:       "",
		`s[0:len(s)]`:  "héllo wörld",
		`a[1:3]`:       []any{int64(2), int64(3)},
		`a[:2]`:        []any{int64(1), int64(2)},
		`a[-1:]`:       []any{int64(4)},
		`len(s[0:20])`: 11,
	} {
		got, err := runBounded(t, src, env)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v (%v), want %#v", src, got, err, want)
		}
	}
}
