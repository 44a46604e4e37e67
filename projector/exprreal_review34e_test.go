package projector_test

import (
	"testing"

	"github.com/projectorhq/projector/projector"
)

// TestR34eNumericToRealRoundsOnce: an expression's numeric result goes to
// a real field through decimalResult, which rounds the exact decimal to a
// float64 (d.Float64) and that float64 to a float32 (floatResult →
// debezium.RoundReal): two roundings. A numeric just above the midpoint
// of two reals, 1.000000059604644775390625000001 (1 + 2^-24 + 10^-30),
// becomes the float64 1 + 2^-24, a tie, which rounds to even: 1.
// PostgreSQL rounds the numeric once (numeric_float4 reads its text with
// strtof): SELECT '1.000000059604644775390625000001'::numeric::real →
// 1.0000001. The README: an expr's result is what the PostgreSQL column
// of its type holds, and numerics compute "as PostgreSQL's numeric does".
func TestR34eNumericToRealRoundsOnce(t *testing.T) {
	r := newReviewRig(t, `
sources:
  o:
    topic: t.public.o
    key: id
    columns: { id: bigint, u: numeric, v: "numeric(40,30)" }
views:
  v:
    from: o
    fields:
      id: id
      ru: { expr: "u", type: real }
      rv: { expr: "v * 1", type: real }
      rn: { expr: "-u", type: real }
    sinks: { postgres: {} }
`, true)
	r.process([]projector.Record{
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "u", "1.000000059604644775390625000001",
			"v", "1.000000059604644775390625000001"), 0),
	})
	r.expect("v", map[string]string{"1": `{"ru":1.0000001,"rv":1.0000001,"rn":-1.0000001}`})
}
