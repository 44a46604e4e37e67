package projector_test

import (
	"fmt"
	"testing"

	"github.com/projectorhq/projector/projector"
)

// TestReview33jRetypedNumericColumnKeepsItsDigits: a column field with its
// own type: over a numeric column goes through a float64 (retyped calls
// exprResult(f.Type, projections.ExprValue(t, v)), and ExprValue makes a
// numeric a float64), so every digit past the 15th–17th is lost, in both
// states and every store:
//
//   - { column: big, type: bigint } of numeric(20,0) 9007199254740993 is
//     9007199254740992 (PostgreSQL: SELECT
//     '9007199254740993'::numeric(20,0)::bigint → 9007199254740993);
//   - { column: amt, type: "numeric(38,18)" } of numeric 0.123456789012345678
//     is "0.123456789012345680" (PostgreSQL:
//     '0.123456789012345678'::numeric::numeric(38,18) → 0.123456789012345678);
//   - { column: p, type: "numeric(20,1)" } of numeric(20,2)
//     123456789012345678.91 is "123456789012345680.0" (PostgreSQL:
//     123456789012345678.9).
//
// No expression computes anything here: the column is only held to a type.
// README: "A column field with its own `type:` is held to it by the same
// rules, in every store (`{column: total, type: "numeric(10,1)"}` of
// `10.25` is `"10.3"` …)", "a `numeric(p,s)` rounded to `s` decimals, half
// away from zero", and the decoder section: "precise decimals … become
// exact decimal strings"; "int64 stays exact (9223372036854775807
// survives)". Column types "are PostgreSQL's", whose casts keep the digits.
func TestReview33jRetypedNumericColumnKeepsItsDigits(t *testing.T) {
	r := newReviewRig(t, `
sources:
  o:
    topic: t.public.o
    key: id
    columns: { id: bigint, big: "numeric(20,0)", amt: numeric, p: "numeric(20,2)" }
views:
  v:
    from: o
    fields:
      id: id
      big_int: { column: big, type: bigint }
      amt18: { column: amt, type: "numeric(38,18)" }
      p1: { column: p, type: "numeric(20,1)" }
    sinks: { postgres: {} }
`, true)
	r.process([]projector.Record{
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "big", "9007199254740993",
			"amt", "0.123456789012345678", "p", "123456789012345678.91"), 0),
	})
	r.expect("v", map[string]string{
		"1": `{"amt18":"0.123456789012345678","p1":"123456789012345678.9"}`,
	})
	// expect compares numbers as float64, which cannot tell these apart.
	for name, s := range r.sinks {
		s.mu.Lock()
		got := fmt.Sprint(s.docs["v/1"].Fields["big_int"])
		s.mu.Unlock()
		if got != "9007199254740993" {
			t.Errorf("%s: v/1 big_int = %s, want 9007199254740993", name, got)
		}
	}
}
