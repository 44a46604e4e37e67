package projector_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

const R34aHotYAML = `
sources:
  users:
    topic: t.public.users
    key: id
    columns: { id: bigint, name: text, bio: text }
  orders:
    topic: t.public.orders
    key: id
    columns: { id: bigint, user_id: bigint, status: text }
views:
  order_view:
    from: orders
    fields:
      id: id
      status: status
      customer:
        one: users
        on: { id: user_id }
        fields: { name: name, bio: bio }
    sinks:
      postgres: { table: order_view }
`

// R34aCountSink counts the docs written per view/id and keeps the newest.
type R34aCountSink struct {
	mu     sync.Mutex
	writes map[string]int
	last   map[string]sinks.Doc
}

func (s *R34aCountSink) Name() string { return "r34a" }
func (s *R34aCountSink) Write(_ context.Context, docs []sinks.Doc) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range docs {
		k := d.View + "/" + d.ID
		s.writes[k]++
		if old, ok := s.last[k]; !ok || old.Rev < d.Rev {
			s.last[k] = d
		}
	}
	return nil
}

func (s *R34aCountSink) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.writes {
		n += c
	}
	return n
}

func R34aRec(table string, offset int64, after map[string]any, lsn int64) projector.Record {
	return projector.Record{Topic: "t.public." + table, Offset: offset,
		Key: must(json.Marshal(map[string]any{"id": after["id"]})), Value: envelope(table, "u", nil, after, lsn)}
}

// TestR34aHotParentMergesRewriteFanOutPerChange: a hot user (README: "A
// user with 50,000 orders changing in every batch rewrites those 50,000
// documents every batch") whose updates carry a TOASTed column
// (__debezium_unavailable_value: REPLICA IDENTITY DEFAULT and a long bio;
// a MongoDB patch is alike). Such changes are not folded (rounds.go fold
// keeps merges and patches), so a batch applies one round per update and
// collects the fan-out after each round (engine.go applyChanges → collect):
// past spillRows chunks the whole fan-out is spilled once per update, and
// every spilled row is computed and written. Chunks of 4 here, so 40
// orders spill as 50,000 do with the default chunk: 10 updates of the
// user in one batch write 400 documents, where the same 10 updates without
// the placeholder write 40. Each doc should be written once per batch.
func TestR34aHotParentMergesRewriteFanOutPerChange(t *testing.T) {
	const orders, updates = 40, 10
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, reviewHead+R34aHotYAML, nil)
	s := &R34aCountSink{writes: map[string]int{}, last: map[string]sinks.Doc{}}
	eng, err := projector.New(projector.Options{Plan: plan, Pool: pool, ChunkDocs: 4,
		Sinks: []projector.Route{{Sink: s, Views: viewNames(plan)}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs := []projector.Record{R34aRec("users", 1, map[string]any{"id": 1, "name": "ann", "bio": "long bio"}, 10)}
	for i := 1; i <= orders; i++ {
		recs = append(recs, R34aRec("orders", int64(1+i), map[string]any{"id": i, "user_id": 1, "status": "paid"}, int64(10+i)))
	}
	if _, err := eng.Process(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	before := s.total()
	var batch []projector.Record
	for k := 1; k <= updates; k++ {
		batch = append(batch, R34aRec("users", int64(100+k),
			map[string]any{"id": 1, "name": fmt.Sprintf("ann-%d", k), "bio": "__debezium_unavailable_value"}, int64(1000+k)))
	}
	if _, err := eng.Process(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if written := s.total() - before; written > orders {
		t.Errorf("%d updates of a user embedded in %d orders, in one batch: %d docs written (%d per doc), want each doc once",
			updates, orders, written, written/orders)
	}
	s.mu.Lock()
	d := s.last["order_view/7"]
	s.mu.Unlock()
	if got, want := canonical(t, d.Fields["customer"]), canonical(t, map[string]any{"name": fmt.Sprintf("ann-%d", updates), "bio": "long bio"}); got != want {
		t.Errorf("order 7 customer = %s, want %s", got, want)
	}
}
