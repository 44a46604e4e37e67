package projector_test

import (
	"encoding/json"
	"testing"

	"github.com/projectorhq/projector/projector"
)

// TestReview33jJSONBThroughAnExpressionKeepsItsNumbers: an expression that
// passes a jsonb column on ({ expr: "meta ?? {}", type: jsonb }, the usual
// way to default one) changes its numbers: projections.natural makes every
// JSON number that is not an int64 a float64, so 12345678901234567890
// becomes 12345678901234567000 and 0.12345678901234567891 becomes
// 0.12345678901234568, in both states and every store, while the short
// field `meta` of the same view keeps them. PostgreSQL's jsonb keeps every
// digit (SELECT '{"n": 12345678901234567890}'::jsonb → the same text);
// SELECT (meta->'n')::numeric does too.
//
// README: "numbers inside `jsonb` read as PostgreSQL's `jsonb` gives them
// back (`1e2` is `100`) in both states, so `projector test` computes what
// production does"; a result "is written as a column of its type holds it".
func TestReview33jJSONBThroughAnExpressionKeepsItsNumbers(t *testing.T) {
	r := newReviewRig(t, `
sources:
  o:
    topic: t.public.o
    key: id
    columns: { id: bigint, meta: jsonb }
views:
  v:
    from: o
    fields:
      id: id
      meta: meta
      copy: { expr: "meta ?? {}", type: jsonb }
      n: { expr: "meta.n", type: numeric }
    sinks: { postgres: {} }
`, true)
	r.process([]projector.Record{
		r.rec("o", "c", m("id", 1), nil, m("id", 1,
			"meta", `{"n": 12345678901234567890, "f": 0.12345678901234567891}`), 0),
	})
	for name, s := range r.sinks {
		s.mu.Lock()
		d := s.docs["v/1"]
		s.mu.Unlock()
		short := string(must(json.Marshal(d.Fields["meta"])))
		copied := string(must(json.Marshal(d.Fields["copy"])))
		n := string(must(json.Marshal(d.Fields["n"])))
		if want := `{"f":0.12345678901234567891,"n":12345678901234567890}`; short != want {
			t.Fatalf("%s: short field meta = %s, want %s", name, short, want)
		}
		if copied != short {
			t.Errorf("%s: meta ?? {} = %s, want the column's own %s", name, copied, short)
		}
		if n != "12345678901234567890" && n != `"12345678901234567890"` {
			t.Errorf("%s: meta.n as numeric = %s, want 12345678901234567890", name, n)
		}
	}
}
