package projector_test

// A change embedded in more documents than a chunk: the batch computes and
// writes them a chunk at a time (memory bounded by the chunk, not by the
// fan-out), and those not yet written when the process stops stay pending.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

const chunkYAML = `
sources:
  users:
    topic: t.public.users
    key: id
    columns: { id: bigint, name: text }
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
        fields: { name: name }
    sinks:
      postgres: { table: order_view }
`

const chunk = 4

// chunkSink keeps the newest revision of each doc and the size of the
// largest write; from the write numbered failAt (1-based) on, it calls
// stop and fails, as a process that stops there.
type chunkSink struct {
	*viewSink
	mu      sync.Mutex
	writes  int
	largest int
	failAt  int
	stop    func()
}

func (s *chunkSink) Write(ctx context.Context, docs []sinks.Doc) error {
	s.mu.Lock()
	s.writes++
	s.largest = max(s.largest, len(docs))
	fail := s.failAt > 0 && s.writes >= s.failAt
	s.mu.Unlock()
	if fail {
		s.stop()
		return errors.New("stopped")
	}
	return s.viewSink.Write(ctx, docs)
}

// chunkEngine is an engine of chunks of 4 docs on pool, or in memory
// when pool is nil.
func chunkEngine(t *testing.T, plan *projections.Plan, pool *pgxpool.Pool, s projector.Sink) *projector.Engine {
	t.Helper()
	opts := projector.Options{Plan: plan, Pool: pool, Memory: pool == nil, ChunkDocs: chunk,
		Sinks: []projector.Route{{Sink: s, Views: viewNames(plan)}}}
	eng, err := projector.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return eng
}

// chunkRecords: user 1, and n orders of it, at increasing LSNs.
func chunkRecords(n int) []projector.Record {
	recs := []projector.Record{chunkRec("users", 1, map[string]any{"id": 1, "name": "ann"}, 10)}
	for i := 1; i <= n; i++ {
		recs = append(recs, chunkRec("orders", int64(1+i), map[string]any{"id": i, "user_id": 1, "status": "paid"}, int64(10+i)))
	}
	return recs
}

func chunkRec(table string, offset int64, after map[string]any, lsn int64) projector.Record {
	return projector.Record{Topic: "t.public." + table, Offset: offset,
		Key: must(json.Marshal(map[string]any{"id": after["id"]})), Value: envelope(table, "c", nil, after, lsn)}
}

func renamed(name string) []projector.Record {
	return []projector.Record{chunkRec("users", 1000, map[string]any{"id": 1, "name": name}, 1000)}
}

// checkCustomers fails unless orders 1..n all embed the customer name.
func checkCustomers(t *testing.T, s *viewSink, n int, name string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 1; i <= n; i++ {
		d, ok := s.docs[fmt.Sprintf("order_view/%d", i)]
		got := "no document"
		if ok {
			got = canonical(t, d.Fields["customer"])
		}
		if want := canonical(t, map[string]any{"name": name}); got != want {
			t.Errorf("order %d: customer %s, want %s", i, got, want)
		}
	}
}

// TestFanOutWrittenInChunks: one user change embedded in 4 chunks of
// orders updates every order, no write holding more than a chunk.
func TestFanOutWrittenInChunks(t *testing.T) {
	const n = 4*chunk + 1
	for _, memory := range []bool{true, false} {
		t.Run(fmt.Sprintf("memory=%v", memory), func(t *testing.T) {
			_, plan := loadPlan(t, reviewHead+chunkYAML, nil)
			s := &chunkSink{viewSink: newViewSink()}
			var pool *pgxpool.Pool
			if !memory {
				pool, _ = testenv.Postgres(t)
			}
			eng := chunkEngine(t, plan, pool, s)
			ctx := context.Background()
			for _, batch := range [][]projector.Record{chunkRecords(n), renamed("bob")} {
				if _, err := eng.Process(ctx, batch); err != nil {
					t.Fatal(err)
				}
			}
			checkCustomers(t, s.viewSink, n, "bob")
			if s.largest > chunk {
				t.Errorf("a write held %d docs, more than a chunk (%d)", s.largest, chunk)
			}
		})
	}
}

// TestDeferredChunksStayPending: the process stops after the first chunk of
// a fan-out was written; the next start (Recover) writes the rest, from
// the pending docs.
func TestDeferredChunksStayPending(t *testing.T) {
	const n = 3 * chunk
	_, plan := loadPlan(t, reviewHead+chunkYAML, nil)
	s := &chunkSink{viewSink: newViewSink()}
	pool, _ := testenv.Postgres(t)
	eng := chunkEngine(t, plan, pool, s)
	if _, err := eng.Process(context.Background(), chunkRecords(n)); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	s.mu.Lock()
	s.failAt, s.stop = s.writes+2, stop // the batch's own chunk is written, the next is not
	s.mu.Unlock()
	if _, err := eng.Process(ctx, renamed("bob")); err == nil {
		t.Fatal("Process returned nil after the sink stopped it")
	}
	s.mu.Lock()
	written := 0
	for i := 1; i <= n; i++ {
		if canonical(t, s.docs[fmt.Sprintf("order_view/%d", i)].Fields["customer"]) == canonical(t, map[string]any{"name": "bob"}) {
			written++
		}
	}
	s.failAt = 0
	s.mu.Unlock()
	if written != chunk {
		t.Fatalf("%d orders written before the stop, want one chunk (%d)", written, chunk)
	}
	restarted := chunkEngine(t, plan, pool, s)
	if err := restarted.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkCustomers(t, s.viewSink, n, "bob")
}

const nestedChunkYAML = `
sources:
  products:
    topic: t.public.products
    key: id
    columns: { id: bigint, name: text }
  items:
    topic: t.public.items
    key: id
    columns: { id: bigint, order_id: bigint, product_id: bigint }
  orders:
    topic: t.public.orders
    key: id
    columns: { id: bigint, status: text }
views:
  order_view:
    from: orders
    fields:
      id: id
      items:
        many: items
        on: { order_id: id }
        order_by: id
        fields:
          id: id
          product:
            one: products
            on: { id: product_id }
            fields: { name: name }
    sinks:
      postgres: { table: order_view }
`

// TestTwoLevelFanOutInChunks: a product in more items than a chunk, each
// of another order. Renaming it reaches every order through the items,
// read a chunk at a time, and no write holds more than a chunk.
func TestTwoLevelFanOutInChunks(t *testing.T) {
	const n = 4*chunk + 3
	for _, memory := range []bool{true, false} {
		t.Run(fmt.Sprintf("memory=%v", memory), func(t *testing.T) {
			_, plan := loadPlan(t, reviewHead+nestedChunkYAML, nil)
			s := &chunkSink{viewSink: newViewSink()}
			var pool *pgxpool.Pool
			if !memory {
				pool, _ = testenv.Postgres(t)
			}
			eng := chunkEngine(t, plan, pool, s)
			recs := []projector.Record{chunkRec("products", 1, map[string]any{"id": 7, "name": "old"}, 10)}
			for i := 1; i <= n; i++ {
				recs = append(recs,
					chunkRec("orders", int64(2*i), map[string]any{"id": i, "status": "paid"}, int64(10+2*i)),
					chunkRec("items", int64(2*i+1), map[string]any{"id": 100 + i, "order_id": i, "product_id": 7}, int64(11+2*i)))
			}
			ctx := context.Background()
			for _, batch := range [][]projector.Record{recs, {chunkRec("products", 1000, map[string]any{"id": 7, "name": "new"}, 1000)}} {
				if _, err := eng.Process(ctx, batch); err != nil {
					t.Fatal(err)
				}
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			for i := 1; i <= n; i++ {
				d := s.docs[fmt.Sprintf("order_view/%d", i)]
				want := canonical(t, []any{map[string]any{"id": json.Number(strconv.Itoa(100 + i)), "product": map[string]any{"name": "new"}}})
				if got := canonical(t, d.Fields["items"]); got != want {
					t.Errorf("order %d: items %s, want %s", i, got, want)
				}
			}
			if s.largest > chunk {
				t.Errorf("a write held %d docs, more than a chunk (%d)", s.largest, chunk)
			}
		})
	}
}

// perDocSink counts the writes of each doc.
type perDocSink struct {
	*viewSink
	mu     sync.Mutex
	writes map[string]int
}

func (s *perDocSink) Write(ctx context.Context, docs []sinks.Doc) error {
	s.mu.Lock()
	for _, d := range docs {
		s.writes[d.View+"/"+d.ID]++
	}
	s.mu.Unlock()
	return s.viewSink.Write(ctx, docs)
}

// TestSpilledDocsNotComputedTwice: one batch changes order 1 and renames
// its user, embedded in more orders than the batch spills (4 chunks of
// 4). Order 1 is computed by the batch, after both changes; the spilled
// fan-out, which holds it too, does not compute it again.
func TestSpilledDocsNotComputedTwice(t *testing.T) {
	const n = 4*chunk + 5
	for _, memory := range []bool{true, false} {
		t.Run(fmt.Sprintf("memory=%v", memory), func(t *testing.T) {
			_, plan := loadPlan(t, reviewHead+chunkYAML, nil)
			s := &perDocSink{viewSink: newViewSink(), writes: map[string]int{}}
			var pool *pgxpool.Pool
			if !memory {
				pool, _ = testenv.Postgres(t)
			}
			eng := chunkEngine(t, plan, pool, s)
			ctx := context.Background()
			if _, err := eng.Process(ctx, chunkRecords(n)); err != nil {
				t.Fatal(err)
			}
			s.mu.Lock()
			clear(s.writes)
			s.mu.Unlock()
			batch := append(renamed("bob"), chunkRec("orders", 2000, map[string]any{"id": 1, "user_id": 1, "status": "shipped"}, 2000))
			if _, err := eng.Process(ctx, batch); err != nil {
				t.Fatal(err)
			}
			checkCustomers(t, s.viewSink, n, "bob")
			s.mu.Lock()
			defer s.mu.Unlock()
			if got := s.writes["order_view/1"]; got != 1 {
				t.Errorf("order 1 written %d times by the batch, want once", got)
			}
			if got := s.writes["order_view/2"]; got != 1 {
				t.Errorf("order 2 written %d times by the batch, want once (by the spilled fan-out)", got)
			}
		})
	}
}
