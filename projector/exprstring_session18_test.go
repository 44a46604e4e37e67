package projector_test

import (
	"testing"

	"github.com/projectorhq/projector/projector"
)

// TestStringOfATimeIsRFC3339: string() of a timestamp is the text the
// documents write a timestamp as (RFC 3339 in UTC), not Go's
// "2024-01-02 10:00:00.5 +0000 UTC"; of a number and a text as before.
func TestStringOfATimeIsRFC3339(t *testing.T) {
	r := newReviewRig(t, `
sources:
  o:
    topic: t.public.o
    key: id
    columns: { id: bigint, at: timestamptz, n: bigint }
views:
  v:
    from: o
    fields:
      id: id
      posted: { expr: '"posted " + string(at)', type: text }
      n: { expr: 'string(n) + "!"', type: text }
    sinks: { postgres: {} }
`, false)
	r.process([]projector.Record{
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "at", "2024-01-02T05:00:00.5-05:00", "n", 7), 0),
	})
	r.expect("v", map[string]string{"1": `{"posted":"posted 2024-01-02T10:00:00.5Z","n":"7!"}`})
}
