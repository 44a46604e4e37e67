package projector_test

// Hostile review of 087fccd (fan-out in chunks): a recompute without the
// state lock must not read half of a batch that left the doc to compute
// after it (fixed: such recomputes read one snapshot).

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/internal/pglock"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

const crTornYAML = `
sources:
  orders: { topic: t.public.orders, key: id, columns: { id: bigint, note_id: bigint, status: text } }
  items: { topic: t.public.items, key: id, columns: { id: bigint, order_id: bigint, qty: bigint } }
  notes: { topic: t.public.notes, key: id, columns: { id: bigint, text: text } }
views:
  order_view:
    from: orders
    fields:
      id: id
      status: status
      items: { many: items, on: { order_id: id }, order_by: id, fields: { id: id, qty: qty } }
      note: { one: notes, on: { id: note_id }, fields: { text: text } }
      big_items: { many: items, on: { order_id: id }, where: qty > 1, order_by: id, fields: { id: id, qty: qty } }
    sinks: { postgres: { table: order_view } }
`

// crHistory keeps every doc written, in order, besides the newest one.
type crHistory struct {
	*viewSink
	mu  sync.Mutex
	all []sinks.Doc
}

func (s *crHistory) Name() string { return "history" }
func (s *crHistory) Write(ctx context.Context, docs []sinks.Doc) error {
	s.mu.Lock()
	s.all = append(s.all, docs...)
	s.mu.Unlock()
	return s.viewSink.Write(ctx, docs)
}

// TestReviewRecomputeSeesHalfABatch: before 087fccd every batch took the
// revision lock of every doc it affected before it committed, so a
// recompute outside the state lock (Recover, a deferred chunk, a conflict
// retry), which takes its docs' revision locks first, saw either none or
// all of a batch's changes. A doc a batch defers is not locked by it: a
// recompute of that doc in flight on another instance (or on the same
// one: the previous batch's deferred chunk) reads the state partly before
// and partly after the batch commits, one statement per join. Here order 1
// is recomputed from its items read before a batch that raised item 1's
// qty to 5 (items: qty 1) and from its items read after it (big_items:
// qty 5): a doc no state ever held is written, at a revision above every
// earlier one. (The recompute is held between its statements by a lock on
// the notes table; a slow statement opens the same window.)
func TestReviewRecomputeSeesHalfABatch(t *testing.T) {
	_, plan := loadPlan(t, reviewHead+crTornYAML, nil)
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	sa := newViewSink()
	a := crEngine(t, plan, pool, chunk, sa)
	hb := &crHistory{viewSink: newViewSink()}
	b := crEngine(t, plan, pool, chunk, hb)

	// Orders 1-10; order 1 has a note; items 1-6 of orders 1-6, qty 1.
	var setup []projector.Record
	lsn := int64(10)
	next := func() int64 { lsn++; return lsn }
	setup = append(setup, chunkRec("notes", 0, map[string]any{"id": 1, "text": "fragile"}, next()))
	for i := 1; i <= 10; i++ {
		o := map[string]any{"id": i, "status": "new"}
		if i == 1 {
			o["note_id"] = 1
		}
		setup = append(setup, chunkRec("orders", int64(i), o, next()))
	}
	for i := 1; i <= 6; i++ {
		setup = append(setup, chunkRec("items", int64(i), map[string]any{"id": i, "order_id": i, "qty": 1}, next()))
	}
	if _, err := a.Process(ctx, setup); err != nil {
		t.Fatal(err)
	}

	// Order 1 left pending (a crashed batch, or B's own deferred chunk).
	if _, err := pool.Exec(ctx, `INSERT INTO projector.pending_batches (docs) VALUES ('[{"view":"order_view","doc_id":"1","key":{"id":1}}]')`); err != nil {
		t.Fatal(err)
	}
	// B recomputes it: it reads order 1 and its items, then waits on notes.
	locker, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = locker.Rollback(ctx) }()
	if _, err := locker.Exec(ctx, `LOCK TABLE projector.state_notes IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	recovered := make(chan error, 1)
	go func() { recovered <- b.Recover(ctx) }()
	crWaitLock(t, pool, "projector.state_notes")

	// A's batch: orders 7-10 change (the chunk it computes), items 1-6 go
	// to qty 5 (six orders: read by id only, deferred). It commits without
	// touching order 1's revision.
	var batch []projector.Record
	for i := 7; i <= 10; i++ {
		batch = append(batch, chunkRec("orders", int64(100+i), map[string]any{"id": i, "status": "paid"}, next()))
	}
	for i := 1; i <= 6; i++ {
		batch = append(batch, chunkRec("items", int64(100+i), map[string]any{"id": i, "order_id": i, "qty": 5}, next()))
	}
	// A's batch commits, or (as before 087fccd, when it locked every doc it
	// affected) waits for B's revision lock on order 1; either way B then
	// goes on.
	type prepared struct {
		b   *projector.Batch
		err error
	}
	prep := make(chan prepared, 1)
	go func() { bt, err := a.Prepare(ctx, batch); prep <- prepared{bt, err} }()
	var p prepared
	select {
	case p = <-prep:
	case <-crLockWait(t, pool, `locktype = 'transactionid'`):
	}
	if err := locker.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-recovered; err != nil {
		t.Fatal(err)
	}
	if p.b == nil && p.err == nil {
		p = <-prep
	}
	if p.err != nil {
		t.Fatal(p.err)
	}
	bt := p.b
	if err := a.Complete(ctx, bt); err != nil {
		t.Fatal(err)
	}

	hb.mu.Lock()
	defer hb.mu.Unlock()
	for _, d := range hb.all {
		if d.View != "order_view" || d.ID != "1" || d.Deleted {
			continue
		}
		items, big := canonical(t, d.Fields["items"]), canonical(t, d.Fields["big_items"])
		qty5 := canonical(t, []any{map[string]any{"id": 1, "qty": 5}})
		if (items == qty5) != (big == qty5) {
			t.Errorf("order 1 written at rev %d from half of a batch: items %s, big_items %s", d.Rev, items, big)
		}
	}
}

// crWaitLock waits until a session waits for a lock on table.
func crWaitLock(t *testing.T, pool *pgxpool.Pool, table string) {
	t.Helper()
	select {
	case <-crLockWait(t, pool, `relation = '`+table+`'::regclass`):
	case <-time.After(20 * time.Second):
		t.Fatalf("no session came to wait on %s", table)
	}
}

// crLockWait is closed once a session waits for a lock matching the
// pg_locks condition cond; it stops looking when the test ends.
func crLockWait(t *testing.T, pool *pgxpool.Pool, cond string) <-chan struct{} {
	t.Helper()
	ch := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		conn, err := pool.Acquire(ctx)
		if err != nil {
			return
		}
		defer conn.Release()
		if pglock.Poll(ctx, conn, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted AND `+cond+`)`) == nil {
			close(ch)
		}
	}()
	return ch
}
