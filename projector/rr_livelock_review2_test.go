package projector_test

// Hostile review (2) of 0ffbdff and 085d272: recomputes without the state
// lock (deferred chunks, Recover, conflict retries, rebuilds) run in
// REPEATABLE READ, and a revision row written by anyone since the snapshot
// makes the transaction fail with 40001 (started again at once, up to 100
// times since 085d272, then returned).

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/internal/pglock"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// r2HotGroupYAML: a row view with a join (its build reads the notes'
// state) declared before a group_by view with few groups: every order
// batch touches the group of its status.
const r2HotGroupYAML = `
sources:
  orders: { topic: t.public.orders, key: id, columns: { id: bigint, note_id: bigint, status: text } }
  notes: { topic: t.public.notes, key: id, columns: { id: bigint, text: text } }
views:
  order_view:
    from: orders
    fields:
      id: id
      status: status
      note: { one: notes, on: { id: note_id }, fields: { text: text } }
    sinks: { postgres: { table: order_view } }
  by_status:
    from: orders
    group_by: status
    fields:
      status: status
      n: { agg: count }
    sinks: { postgres: { table: by_status } }
`

// r2Pool is a pool of the test's database for the test's own sessions
// (lock holders, lock watchers), apart from the engines'.
func r2Pool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 40
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// r2Waiting is closed once at least n sessions of the test's database wait
// for a lock matching the pg_locks condition cond. The watcher stops (and
// gives its connection back) once it saw it, or once stop is called.
func r2Waiting(t *testing.T, pool *pgxpool.Pool, n int, cond string) (_ <-chan struct{}, stop func()) {
	t.Helper()
	ch := make(chan struct{})
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	t.Cleanup(cancel)
	go func() {
		defer cancel()
		conn, err := pool.Acquire(ctx)
		if err != nil {
			return
		}
		defer conn.Release()
		q := `SELECT count(*) >= $1 FROM pg_locks l WHERE NOT l.granted AND (` + cond + `)
			AND l.pid IN (SELECT pid FROM pg_stat_activity WHERE datname = current_database())`
		if pglock.Poll(ctx, conn, q, n) == nil {
			close(ch)
		}
	}()
	return ch, cancel
}

// r2LockNotes takes the notes' state table, as a slow statement would hold
// up a recompute reading it (a chunk of 10,000 documents and their joins).
func r2LockNotes(ctx context.Context, pool *pgxpool.Pool) (pgx.Tx, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE projector.state_notes IN ACCESS EXCLUSIVE MODE`); err != nil {
		_ = tx.Rollback(ctx)
		return nil, err
	}
	return tx, nil
}

// TestReview2DeferredChunkStarvedByHotGroup: two instances share the
// state (members of one consumer group, each with its own partitions of
// orders). Instance A's batch affects more docs than a chunk; its deferred
// chunk holds an order doc (whose build reads its note) and the group doc
// by_status/paid (group docs are always deferred, see split). The chunk's
// REPEATABLE READ snapshot is taken by order_view's revision statement;
// by_status's revision is taken only once order_view's docs are built.
// Meanwhile instance B goes on applying batches of paid orders, each of
// which gives by_status/paid a new revision: every attempt of A's chunk
// then meets a revision written since its snapshot and fails (40001), the
// retry (at once, no backoff) has the same window, and after 100 tries
// (085d272; ten before) Complete returns an error: more tries only take
// longer, since the window is the whole build of the views before the
// group view, not the moment of a lock. The consumer retries Complete with backoff, with the same outcome
// as long as B's traffic goes on: A's batch is never committed (the same
// holds for Recover at start, which the consumer runs before consuming).
// Under READ COMMITTED (before 0ffbdff) the chunk simply took the newer
// revision. Here A's build is held on the notes table by a lock, once per
// attempt, and B writes one batch per attempt. A fix that takes every
// view's revisions in the first statement (the window is then the lock
// statement only, and B waits for A's row lock instead), or a shared state
// lock held by the recompute, lets the chunk through on its first retry.
func TestReview2DeferredChunkStarvedByHotGroup(t *testing.T) {
	_, plan := loadPlan(t, reviewHead+r2HotGroupYAML, nil)
	pool, url := testenv.Postgres(t)
	aux := r2Pool(t, url)
	ctx := context.Background()
	sink := newViewSink()
	a := crEngine(t, plan, pool, chunk, sink)
	b := crEngine(t, plan, pool, chunk, sink)

	lsn := int64(10)
	next := func() int64 { lsn++; return lsn }
	if _, err := a.Process(ctx, []projector.Record{chunkRec("notes", 0, map[string]any{"id": 1, "text": "fragile"}, next())}); err != nil {
		t.Fatal(err)
	}
	// A's batch: five paid orders with a note; four are computed in the
	// batch, one order and the group are deferred to one chunk.
	var batch []projector.Record
	for i := 1; i <= chunk+1; i++ {
		batch = append(batch, chunkRec("orders", int64(i), map[string]any{"id": i, "note_id": 1, "status": "paid"}, next()))
	}
	bt, err := a.Prepare(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}

	notesWait := `l.relation = 'projector.state_notes'::regclass AND l.mode = 'AccessShareLock'`
	other := `l.relation IS DISTINCT FROM 'projector.state_notes'::regclass`
	locker, err := r2LockNotes(ctx, aux)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = locker.Rollback(ctx) }()
	done := make(chan error, 1)
	go func() { done <- a.Complete(ctx, bt) }()

	bLSN := int64(100000)
	var completeErr error
	finished := false
	rounds := 0
	for ; rounds < 110 && !finished; rounds++ {
		aWaits, stopA := r2Waiting(t, aux, 1, notesWait)
		select {
		case <-aWaits: // A's chunk reads order_view's note
		case completeErr = <-done:
			finished = true
		case <-time.After(20 * time.Second):
			t.Fatalf("round %d: A's chunk neither waits on the notes nor completes", rounds)
		}
		stopA()
		if finished {
			break
		}
		// B: one batch of a paid order (no note: it reads nothing A waits on).
		bLSN++
		id := 1000 + rounds
		bDone := make(chan error, 1)
		go func() {
			_, err := b.Process(ctx, []projector.Record{chunkRec("orders", bLSN, map[string]any{"id": id, "status": "paid"}, bLSN)})
			bDone <- err
		}()
		blocked := false
		bWaits, stopB := r2Waiting(t, aux, 1, other)
		select {
		case err := <-bDone:
			if err != nil {
				t.Fatal(err)
			}
		case <-bWaits: // B waits for A (a fix holding the revisions)
			blocked = true
		case <-time.After(20 * time.Second):
			t.Fatalf("round %d: B's batch neither finished nor waited", rounds)
		}
		stopB()
		if blocked {
			if err := locker.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			completeErr, finished = <-done, true
			if err := <-bDone; err != nil {
				t.Fatal(err)
			}
			break
		}
		// The next holder of the notes queues behind A's attempt, so that
		// A's retry is held the same way (a chunk as slow again).
		nextLocker := make(chan pgx.Tx, 1)
		go func() {
			tx, err := r2LockNotes(ctx, aux)
			if err != nil {
				nextLocker <- nil
				return
			}
			nextLocker <- tx
		}()
		queued, stopQ := r2Waiting(t, aux, 2, `l.relation = 'projector.state_notes'::regclass`)
		select {
		case <-queued:
		case <-time.After(20 * time.Second):
			t.Fatalf("round %d: the next notes lock did not queue", rounds)
		}
		stopQ()
		if err := locker.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		locker = <-nextLocker
		if locker == nil {
			t.Fatal("could not lock the notes again")
		}
	}
	_ = locker.Commit(ctx)
	if !finished {
		select {
		case completeErr = <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("Complete did not return")
		}
	}
	if completeErr != nil {
		t.Fatalf("A's Complete failed after %d batches of instance B touched by_status/paid while its deferred chunk was computed: %v", rounds, completeErr)
	}
	checkDocsAgainstRecompute(t, a, plan, sink, fmt.Sprintf("after %d rounds", rounds))
}
