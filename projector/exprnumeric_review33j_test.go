package projector_test

import (
	"testing"

	"github.com/projectorhq/projector/projector"
)

// TestReview33jNumericArithmeticIsExact: expressions see a numeric(p,s)
// column as a float64 (projections.ExprValue), so what they compute over
// decimals is a binary float's, not PostgreSQL's numeric:
//
//   - line: price * qty with price numeric(10,2) 0.15 and qty numeric(10,1)
//     1.5, typed numeric(10,2), is "0.22": the float product is
//     0.22499999999999998, rounded down. PostgreSQL:
//     SELECT (0.15::numeric(10,2) * 1.5::numeric(10,1))::numeric(10,2) → 0.23
//     (0.225 exactly, half away from zero). A cent off on an order line.
//   - where: a + b == c with 0.10 + 0.20 and 0.30 drops the row
//     (0.30000000000000004 != 0.3); PostgreSQL's 0.10 + 0.20 = 0.30 is true.
//   - copy: { expr: "p", type: "numeric(20,2)" } of 123456789012345678.91 is
//     "123456789012345680.00" (the short field p of the same view gives the
//     digits; PostgreSQL: 123456789012345678.91).
//
// README: column types "are PostgreSQL's: … `numeric(p,s)`", an expr result
// "a `numeric(p,s)` rounded to `s` decimals, half away from zero"; the
// README says nowhere that expressions compute numerics as binary floats,
// and 0.15 × 1.5 = 0.225 rounds half away from zero to 0.23.
func TestReview33jNumericArithmeticIsExact(t *testing.T) {
	r := newReviewRig(t, `
sources:
  o:
    topic: t.public.o
    key: id
    columns: { id: bigint, price: "numeric(10,2)", qty: "numeric(10,1)", a: "numeric(10,2)", b: "numeric(10,2)", c: "numeric(10,2)", p: "numeric(20,2)" }
views:
  v:
    from: o
    fields:
      id: id
      line: { expr: "price * qty", type: "numeric(10,2)" }
      copy: { expr: "p", type: "numeric(20,2)" }
    sinks: { postgres: {} }
  w:
    from: o
    where: "a + b == c"
    fields: { id: id }
    sinks: { postgres: {} }
`, false)
	r.process([]projector.Record{
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "price", "0.15", "qty", "1.5",
			"a", "0.10", "b", "0.20", "c", "0.30", "p", "123456789012345678.91"), 0),
	})
	r.expect("v", map[string]string{"1": `{"line":"0.23","copy":"123456789012345678.91"}`})
	r.expectOnly("w", "1")
}
