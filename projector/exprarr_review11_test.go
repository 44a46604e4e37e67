package projector_test

import (
	"testing"

	"github.com/projectorhq/projector/projector"
)

// TestReview11ArrayExprKeepsElements: fields `nc: { expr: "nums", type:
// "numeric[]" }` and `dc: { expr: "days", type: "date[]" }` over columns
// nums numeric[] = {12345678901234567.25} and days date[] = {2024-01-02},
// next to the plain copies n: nums, d: days.
// Expected: an expression that returns the column unchanged gives what the
// column holds, as the plain copy n, d does: ["12345678901234567.25"] and
// ["2024-01-02"] (PostgreSQL: SELECT '{12345678901234567.25}'::numeric[],
// '{2024-01-02}'::date[]).
// Got: projections.ExprValue (projections/types.go:123) now turns each
// element into the element type's expression value: the numeric becomes a
// float64 (written 12345678901234568) and the date a time.Time, which the array
// result writes out as is (exprresult.go cleanValue), not as a date.
func TestReview11ArrayExprKeepsElements(t *testing.T) {
	r := newReviewRig(t, `
sources:
  o: { topic: t.public.o, key: id, columns: { id: bigint, nums: "numeric[]", days: "date[]" } }
views:
  v:
    from: o
    fields:
      id: id
      n: nums
      d: days
      nc: { expr: "nums", type: "numeric[]" }
      dc: { expr: "days", type: "date[]" }
    sinks: { postgres: {} }
`, true)
	r.process([]projector.Record{
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "nums", []any{"12345678901234567.25"}, "days", []any{"2024-01-02"}), 0),
	})
	r.expect("v", map[string]string{"1": `{"n":["12345678901234567.25"],"d":["2024-01-02"],"nc":["12345678901234567.25"],"dc":["2024-01-02"]}`})
}
