package projector_test

import (
	"testing"

	"github.com/projectorhq/projector/projector"
)

// TestReview11TimeResultEndOfDay: field `at: { expr: "t", type: time }`
// over a time column t, row t = 24:00:00 (PostgreSQL's time holds it and
// the decoder reads it: debezium/logical.go parseTimeOfDay); and
// `hm: { expr: "'12:30'", type: time }`.
// Expected: at is "24:00:00", as the column copied plainly (c) is, and hm
// "12:30:00" (PostgreSQL: SELECT '24:00:00'::time, '12:30'::time).
// Got: textResult's new "time" case (projector/exprresult.go:175) parses
// with time.Parse("15:04:05.999999999"), which refuses both: the fields
// are null.
func TestReview11TimeResultEndOfDay(t *testing.T) {
	r := newReviewRig(t, `
sources:
  o: { topic: t.public.o, key: id, columns: { id: bigint, t: time } }
views:
  v:
    from: o
    fields:
      id: id
      c: t
      at: { expr: "t", type: time }
      hm: { expr: "'12:30'", type: time }
    sinks: { postgres: {} }
`, true)
	r.process([]projector.Record{
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "t", "24:00:00"), 0),
	})
	r.expect("v", map[string]string{"1": `{"c":"24:00:00","at":"24:00:00","hm":"12:30:00"}`})
}
