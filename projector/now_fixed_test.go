package projector_test

import (
	"testing"

	"github.com/projectorhq/projector/projector"
)

// TestNowIsOneInstantPerComputation: now() gives one instant to every
// expression of a computation, as PostgreSQL's now() is its transaction's:
// a where and a field of a document, or two calls in one expression with
// work between them, agree (each call read the clock before).
func TestNowIsOneInstantPerComputation(t *testing.T) {
	r := newReviewRig(t, `
sources:
  posts: { topic: t.public.posts, key: id, columns: { id: bigint, at: timestamptz } }
views:
  v:
    from: posts
    where: at < now()
    fields:
      id: id
      same: { expr: "let t0 = now(); let n = sum(1..300000); now() == t0 and n > 0", type: boolean }
      seen: { expr: "string(now())", type: text }
    sinks: { postgres: {} }
`, true)
	r.process([]projector.Record{
		r.rec("posts", "c", map[string]any{"id": 1}, nil, map[string]any{"id": 1, "at": "2020-01-01T00:00:00Z"}, 0),
		r.rec("posts", "c", map[string]any{"id": 2}, nil, map[string]any{"id": 2, "at": "2020-01-01T00:00:00Z"}, 0),
	})
	r.expect("v", map[string]string{"1": `{"same": true}`, "2": `{"same": true}`})
	for name, s := range r.sinks {
		s.mu.Lock()
		a, b := s.docs["v/1"].Fields["seen"], s.docs["v/2"].Fields["seen"]
		s.mu.Unlock()
		if a == nil || a != b {
			t.Errorf("%s: the documents of one batch saw now() as %v and %v, want one instant", name, a, b)
		}
	}
}
