package projector_test

import (
	"testing"

	"github.com/projectorhq/projector/projector"
)

// TestFloatArrayElementsAreNumbers: the elements of a double precision[]
// or real[] column reach expressions as numbers, as an integer array's do:
// `0.5 in scores` and sum(scores) compute with them (they were the state's
// text: the row was dropped and the sum null), and copying the array
// through an expression keeps it.
func TestFloatArrayElementsAreNumbers(t *testing.T) {
	r := newReviewRig(t, `
sources:
  o:
    topic: t.public.o
    key: id
    columns: { id: bigint, scores: "double precision[]", ratios: "real[]" }
views:
  v:
    from: o
    fields:
      id: id
      total: { expr: "sum(scores)", type: "double precision" }
      top: { expr: "max(ratios)", type: real }
      copy: { expr: "scores ?? []", type: "double precision[]" }
    sinks: { postgres: {} }
  halves:
    from: o
    where: "0.5 in scores"
    fields: { id: id }
    sinks: { postgres: {} }
`, true)
	r.process([]projector.Record{
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "scores", []any{0.5, 1.25}, "ratios", []any{0.25, 2}), 0),
		r.rec("o", "c", m("id", 2), nil, m("id", 2, "scores", []any{1.5}, "ratios", []any{}), 0),
	})
	r.expect("v", map[string]string{
		"1": `{"total":1.75,"top":2,"copy":[0.5,1.25]}`,
		"2": `{"total":1.5,"top":null,"copy":[1.5]}`,
	})
	r.expectOnly("halves", "1")
}
