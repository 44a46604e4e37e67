package projector_test

import (
	"testing"

	"github.com/projectorhq/projector/projector"
)

// TestReview33jNonIntegerArrayElementsAreValues: expressions see the
// elements of a double precision[], numeric(p,s)[] or timestamptz[] column
// as the state's text (projections.ExprValue converts only integer arrays'
// elements), while `projector validate` accepts any expression over them.
// So, on every row, in both states:
//
//   - where: "0.5 in scores" with scores {0.5,1.25} drops the row (the
//     element is a json.Number, never equal to 0.5); PostgreSQL:
//     0.5 = ANY('{0.5,1.25}'::float8[]) is true;
//   - sum(scores) is null and counted as an expression error (PostgreSQL's
//     sum over unnest gives 1.75), sum(prices) over numeric(10,2)[]
//     {1.50,2.25} too (3.75);
//   - deadlines[0] < now() with deadlines {2020-01-01T00:00:00Z} is null
//     (a string compared with a time).
//
// README: expressions are "over the row's columns, typed by the declared
// `columns:`", "a `where` must give a boolean and an `expr` a value that
// fits its `type`, checked by `projector validate`", columns may be
// "one-dimensional arrays of them", and "`sum(items, #.price)` adds
// numbers". Only integer arrays are mentioned as integers, but nothing
// warns that the others' elements cannot be compared or added, and
// validate accepts each expression above although it fails on every row.
func TestReview33jNonIntegerArrayElementsAreValues(t *testing.T) {
	r := newReviewRig(t, `
sources:
  o:
    topic: t.public.o
    key: id
    columns: { id: bigint, scores: "double precision[]", prices: "numeric(10,2)[]", deadlines: "timestamptz[]" }
views:
  v:
    from: o
    fields:
      id: id
      total: { expr: "sum(scores)", type: "double precision" }
      spent: { expr: "sum(prices)", type: "numeric(10,2)" }
      late: { expr: "deadlines[0] < now()", type: boolean }
    sinks: { postgres: {} }
  halves:
    from: o
    where: "0.5 in scores"
    fields: { id: id }
    sinks: { postgres: {} }
`, true)
	r.process([]projector.Record{
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "scores", []any{0.5, 1.25},
			"prices", []any{"1.50", "2.25"}, "deadlines", []any{"2020-01-01T00:00:00Z"}), 0),
	})
	r.expect("v", map[string]string{"1": `{"total":1.75,"spent":"3.75","late":true}`})
	r.expectOnly("halves", "1")
}
