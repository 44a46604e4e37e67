package projections

import (
	"reflect"
	"testing"

	"github.com/shopspring/decimal"
)

// TestKeysInJSONBOrder: keys, values and toPairs of an object give its
// keys as PostgreSQL's jsonb_object_keys does (shorter first, then by
// bytes), the values and pairs in the same order, at every evaluation;
// groupBy's groups too, by their keys' text.
func TestKeysInJSONBOrder(t *testing.T) {
	env := map[string]any{
		"info":  map[string]any{"bb": 2, "a": 1, "ff": 6, "c": 3, "é": 7, "dd": 4, "e": 5, "": 0},
		"items": []any{int64(10), int64(9), int64(10), decimal.RequireFromString("2.5")},
	}
	cases := map[string]any{
		`keys(info)`:              []any{"", "a", "c", "e", "bb", "dd", "ff", "é"},
		`values(info)`:            []any{0, 1, 3, 5, 2, 4, 6, 7},
		`toPairs(info)`:           []any{[]any{"", 0}, []any{"a", 1}, []any{"c", 3}, []any{"e", 5}, []any{"bb", 2}, []any{"dd", 4}, []any{"ff", 6}, []any{"é", 7}},
		`keys(groupBy(items, #))`: []any{int64(9), int64(10), 2.5},
	}
	for range 20 { // Go's map order differs from one iteration to the next
		for src, want := range cases {
			got, err := runJSONB(t, src, env)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("%s = %#v (%v), want %#v", src, got, err, want)
			}
		}
	}
}
