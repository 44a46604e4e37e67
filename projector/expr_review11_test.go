package projector_test

import (
	"testing"

	"github.com/projectorhq/projector/projector"
)

// TestReview11NullComparisonPoisonsOr: where `n == 1 or m == 2` (n, m
// bigint), rows id 1 (n null, m 2) and id 2 (n 1, m null).
// Expected: README ("A comparison ... with a null column is null too, as
// in SQL"): SQL's three-valued logic makes NULL OR TRUE true, so
// SELECT ... WHERE n = 1 OR m = 2 keeps both rows (before this change they
// passed too: nil == 1 was false).
// Got: the checked == (projections/exprnull.go:34) fails the whole
// evaluation with ErrNullOperand, so the or never sees its other operand:
// row 1 has no document (row 2 passes only thanks to short-circuit).
func TestReview11NullComparisonPoisonsOr(t *testing.T) {
	r := newReviewRig(t, `
sources:
  o: { topic: t.public.o, key: id, columns: { id: bigint, n: bigint, m: bigint } }
views:
  v:
    from: o
    where: n == 1 or m == 2
    fields: { id: id }
    sinks: { postgres: {} }
`, false)
	r.process([]projector.Record{
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "n", nil, "m", 2), 0),
		r.rec("o", "c", m("id", 2), nil, m("id", 2, "n", 1, "m", nil), 0),
	})
	r.expectOnly("v", "1", "2")
}

// TestReview11InRangeMaterialised: where `len(note) in 0..2000000` (a note
// of at most 2,000,000 characters), row id 1 with note "hi".
// Expected: the row passes (len("hi") = 2 is in the range); before this
// change expr's optimizer (optimizer/in_range.go) made an int `in` over a
// constant range two comparisons, and it did.
// Got: the running program (projections/expr.go:70, compiled with
// runtimeChecks) rewrites `in` into the "checked in" call
// (projections/exprnull.go:83) before the optimizer sees it, so the range
// is built as an array of 2,000,001 items, beyond expr's memory budget:
// the where fails on every row, null, and no row ever passes.
func TestReview11InRangeMaterialised(t *testing.T) {
	r := newReviewRig(t, `
sources:
  o: { topic: t.public.o, key: id, columns: { id: bigint, note: text } }
views:
  v:
    from: o
    where: len(note) in 0..2000000
    fields: { id: id }
    sinks: { postgres: {} }
`, false)
	r.process([]projector.Record{
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "note", "hi"), 0),
	})
	r.expectOnly("v", "1")
}
