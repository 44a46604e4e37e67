package projector

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
)

var (
	undeclared = config.Type{}
	numeric2   = config.Type{Name: "numeric", Precision: -1, Scale: 2}
	timestamp  = config.Type{Name: "timestamptz", Precision: -1, Scale: -1}
	textType   = config.Type{Name: "text", Precision: -1, Scale: -1}
)

// Aggregates compute what SQL's do: sums keep the decimal scale (10.00 +
// 5.50 is 15.50, not 15.5), nulls are skipped, and over no values only
// count is not null.
func TestAggregateLikeSQL(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   projections.AggFunc
		t    config.Type
		vals []any
		want any
	}{
		{"sum keeps the inputs' scale", projections.AggSum, undeclared, []any{"10.00", "5.50"}, json.Number("15.50")},
		{"sum keeps trailing zeros", projections.AggSum, undeclared, []any{json.Number("10.00"), json.Number("5.00")}, json.Number("15.00")},
		{"sum keeps the declared scale", projections.AggSum, numeric2, []any{json.Number("1"), json.Number("2.5")}, json.Number("3.50")},
		{"sum of integers", projections.AggSum, undeclared, []any{json.Number("1"), int64(2), 3}, json.Number("6")},
		{"sum of nothing is null", projections.AggSum, numeric2, nil, nil},
		{"avg of nothing is null", projections.AggAvg, undeclared, nil, nil},
		{"max of nothing is null", projections.AggMax, undeclared, nil, nil},
		{"count of nothing is 0", projections.AggCount, undeclared, nil, json.Number("0")},
		{"sum skips infinities", projections.AggSum, undeclared, []any{math.Inf(1), 2.5}, json.Number("2.5")},
		{"avg of only NaN is null", projections.AggAvg, undeclared, []any{math.NaN()}, nil},
		{"timestamps compare as instants", projections.AggMin, timestamp,
			[]any{"2024-01-01T00:00:00.5Z", "2024-01-01T00:00:00Z"}, "2024-01-01T00:00:00Z"},
		{"text compares as text", projections.AggMax, textType, []any{"10", "9"}, "9"},
		{"undeclared numbers compare as numbers", projections.AggMax, undeclared, []any{json.Number("10"), json.Number("9")}, json.Number("10")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := aggregate(tc.fn, tc.t, tc.vals); got != tc.want {
				t.Errorf("aggregate(%v) = %#v, want %#v", tc.vals, got, tc.want)
			}
		})
	}
}

// Joined rows tied on order_by keep the order they came in (state key
// order, see builder.load), whatever the store.
func TestSortRowsIsStableAndTyped(t *testing.T) {
	src := &projections.Source{Name: "events", Columns: map[string]config.Type{"at": timestamp, "n": {Name: "bigint", Precision: -1, Scale: -1}}}
	rows := []map[string]any{
		{"id": "a", "at": "2024-01-01T00:00:00.5Z", "n": json.Number("1")},
		{"id": "b", "at": "2024-01-01T00:00:00Z", "n": json.Number("1")},
		{"id": "c", "at": "2024-01-01T00:00:00Z", "n": json.Number("10")},
	}
	sortRows(rows, []projections.Order{{Column: "at"}}, src)
	if got := []any{rows[0]["id"], rows[1]["id"], rows[2]["id"]}; got[0] != "b" || got[1] != "c" || got[2] != "a" {
		t.Errorf("by at: %v, want [b c a]", got)
	}
	sortRows(rows, []projections.Order{{Column: "n", Desc: true}}, src)
	if got := []any{rows[0]["id"], rows[1]["id"], rows[2]["id"]}; got[0] != "c" || got[1] != "b" || got[2] != "a" {
		t.Errorf("by -n: %v, want [c b a]", got)
	}
}
