package projector

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
)

var (
	undeclared = config.Type{}
	numeric2   = config.Type{Name: "numeric", Precision: -1, Scale: 2}
	timestamp  = config.Type{Name: "timestamptz", Precision: -1, Scale: -1}
	textType   = config.Type{Name: "text", Precision: -1, Scale: -1}
	doubleType = config.Type{Name: "double precision", Precision: -1, Scale: -1}
	realType   = config.Type{Name: "real", Precision: -1, Scale: -1}
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
		{"a double sum is a double", projections.AggSum, doubleType, []any{json.Number("1e308"), 0.1, json.Number("0.2")},
			json.Number("1" + strings.Repeat("0", 308))},
		{"a double sum in to_jsonb's digits", projections.AggSum, doubleType, []any{1e-7, 0.0}, json.Number("0.0000001")},
		{"a real sum is a real", projections.AggSum, realType, []any{json.Number("16777216"), json.Number("0.1"), json.Number("0.2")},
			json.Number("16777216")},
		{"a real sum rounds once", projections.AggSum, realType, []any{json.Number("0.1"), json.Number("0.2")}, json.Number("0.3")},
		{"a double sum keeps NaN", projections.AggSum, doubleType, []any{"NaN", json.Number("1")}, "NaN"},
		{"a double sum keeps Infinity", projections.AggSum, doubleType, []any{"Infinity", json.Number("1")}, "Infinity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := aggregate(tc.fn, tc.t, tc.vals)
			if got != tc.want || !ok {
				t.Errorf("aggregate(%v) = %#v, %v, want %#v", tc.vals, got, ok, tc.want)
			}
		})
	}
}

// A float sum beyond the float's range is null and not ok, as an
// expression's result its type cannot hold: PostgreSQL's sum raises
// "value out of range: overflow".
func TestFloatSumOverflowIsAnError(t *testing.T) {
	for _, tc := range []struct {
		t    config.Type
		vals []any
	}{
		{doubleType, []any{json.Number("1e308"), json.Number("1e308")}},
		{doubleType, []any{-1e308, -1e308}},
		{realType, []any{json.Number("3e38"), json.Number("3e38")}},
	} {
		if got, ok := aggregate(projections.AggSum, tc.t, tc.vals); got != nil || ok {
			t.Errorf("sum %s of %v = %#v, %v, want nil, false", tc.t.Name, tc.vals, got, ok)
		}
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
