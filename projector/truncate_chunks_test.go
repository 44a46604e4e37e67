package projector

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// docSink keeps the newest revision of every doc it is given, by view and
// id, as a rev-guarded store does.
type docSink struct {
	mu   sync.Mutex
	docs map[[2]string]sinks.Doc
}

func (s *docSink) Name() string { return "docs" }

func (s *docSink) Write(_ context.Context, docs []sinks.Doc) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range docs {
		k := [2]string{d.View, d.ID}
		if old, ok := s.docs[k]; !ok || old.Rev < d.Rev {
			s.docs[k] = d
		}
	}
	return nil
}

// live is the docs of view not deleted, by id.
func (s *docSink) live(view string) map[string]map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]map[string]any{}
	for k, d := range s.docs {
		if k[0] == view && !d.Deleted {
			out[k[1]] = d.Fields
		}
	}
	return out
}

const truncateChunksYAML = `
sources:
  orders:
    topic: t.public.orders
    key: id
    columns: { id: bigint, user_id: text, status: text }
  order_items:
    topic: t.public.order_items
    key: id
    columns: { id: bigint, order_id: bigint, qty: integer }
views:
  order_view:
    from: orders
    fields:
      id: id
      items:
        many: order_items
        on: { order_id: id }
        order_by: id
        fields: { id: id, qty: qty }
    sinks:
      postgres: { table: order_view }
  user_stats:
    from: orders
    group_by: user_id
    fields:
      user_id: user_id
      orders: { agg: count }
    sinks:
      postgres: { table: user_stats }
`

// TestTruncateInChunks: a TRUNCATE deletes the state's rows a chunk at a
// time, never holding more of them, and still empties every document the
// rows were in (the items of each order, the orders themselves and their
// users' counts), while the rows written after it in the same batch stay.
func TestTruncateInChunks(t *testing.T) {
	const chunk, orders, items = 4, 30, 50
	pool, _ := testenv.Postgres(t)
	sink := &docSink{docs: map[[2]string]sinks.Doc{}}
	eng, err := New(Options{Plan: r27ePlan(t, truncateChunksYAML), Pool: pool, ChunkDocs: chunk,
		Sinks: []Route{{Sink: sink, Views: []string{"order_view", "user_stats"}}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := eng.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	lsn := int64(10)
	record := func(table string, op string, row map[string]any) Record {
		lsn++
		r := Record{Topic: "t.public." + table, Offset: lsn, Value: r27eEnvelope(table, op, row, lsn)}
		if row != nil {
			r.Key = []byte(fmt.Sprintf(`{"id":%v}`, row["id"]))
		}
		return r
	}
	process := func(what string, recs ...Record) {
		t.Helper()
		if dead, err := eng.Process(ctx, recs); err != nil || len(dead) > 0 {
			t.Fatalf("%s: %v, %v", what, dead, err)
		}
	}
	var recs []Record
	for i := 1; i <= orders; i++ {
		recs = append(recs, record("orders", "c", map[string]any{"id": i, "user_id": fmt.Sprintf("u%d", i%3), "status": "paid"}))
	}
	for i := 1; i <= items; i++ {
		recs = append(recs, record("order_items", "c", map[string]any{"id": i, "order_id": 1 + i%orders, "qty": i}))
	}
	process("insert", recs...)
	if n := len(sink.live("order_view")); n != orders {
		t.Fatalf("%d orders before the truncates, want %d", n, orders)
	}

	rec := &r27eStore{store: eng.state}
	eng.state = rec
	process("truncate the items",
		record("order_items", "u", map[string]any{"id": 3, "order_id": 7, "qty": 30}), // moot: truncated after
		record("order_items", "t", nil),
		record("order_items", "c", map[string]any{"id": 2, "order_id": 5, "qty": 99}))
	for id, doc := range sink.live("order_view") {
		want := "[]"
		if id == "5" {
			want = `[{"id":2,"qty":99}]`
		}
		if got, _ := json.Marshal(doc["items"]); string(got) != want {
			t.Errorf("order %s after the items' truncate has items %s, want %s", id, got, want)
		}
	}

	process("truncate the orders",
		record("orders", "t", nil),
		record("orders", "c", map[string]any{"id": 4, "user_id": "u9", "status": "paid"}))
	if got := slices.Sorted(maps.Keys(sink.live("order_view"))); !slices.Equal(got, []string{"4"}) {
		t.Errorf("orders after the truncate: %v, want [4]", got)
	}
	stats := sink.live("user_stats")
	if len(stats) != 1 || fmt.Sprint(stats["u9"]["orders"]) != "1" {
		t.Errorf("user stats after the truncate: %v, want u9 with 1 order", stats)
	}

	if rec.maxBefore == 0 || rec.maxBefore > chunk {
		t.Errorf("a read of the rows to truncate returned %d rows, want 1 to %d (a chunk)", rec.maxBefore, chunk)
	}
	if rec.maxApply > chunk {
		t.Errorf("an apply was given %d changes, want at most a chunk (%d)", rec.maxApply, chunk)
	}
	var pending int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM projector.pending`).Scan(&pending); err != nil || pending != 0 {
		t.Errorf("pending docs left after the batches: %d, %v", pending, err)
	}
}
