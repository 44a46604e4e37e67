package projector_test

import (
	"testing"

	"github.com/projectorhq/projector/projector"
)

// TestReview11MaxOverArrayWithNullElement: view g (hi: max of a bigint[],
// lo: min of a), rows a = {NULL} and {5} in group "x".
// Expected: PostgreSQL's array order puts a NULL element after every
// non-null one (array_cmp): SELECT max(a), min(a) FROM (VALUES
// ('{NULL}'::bigint[]), ('{5}')) t(a) gives hi [null], lo [5].
// Got: compareValues (projector/aggregate.go:316) compares elements with
// its own rule for whole values, null first, so hi is [5] and lo [null].
func TestReview11MaxOverArrayWithNullElement(t *testing.T) {
	r := newReviewRig(t, `
sources:
  o: { topic: t.public.o, format: json, key: [id], columns: { id: bigint, k: text, a: "bigint[]" } }
views:
  g: { from: o, group_by: k, fields: { k: k, hi: { agg: max, of: a }, lo: { agg: min, of: a } }, sinks: { postgres: {} } }
`, true)
	r.process([]projector.Record{
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "k", "x", "a", []any{nil}), 0),
		r.rec("o", "c", m("id", 2), nil, m("id", 2, "k", "x", "a", []any{5}), 0),
	})
	want := review10SQL(t, `SELECT json_build_object('hi', max(a), 'lo', min(a))::text FROM (VALUES ('{NULL}'::bigint[]), ('{5}')) t(a)`)
	r.expect("g", map[string]string{"x": want})
}
