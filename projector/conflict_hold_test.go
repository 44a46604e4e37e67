package projector_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// stuckSink is a holdingSink whose writes of order 1 never end until
// unstuck, as those of an instance that dies while writing them: the
// write is entered (entered closed), then fails (its writer's context is
// ended with it, or it retries the write).
type stuckSink struct {
	*holdingSink
	once    sync.Once
	entered chan struct{}
	unstuck chan struct{}
}

func (s *stuckSink) Write(ctx context.Context, docs []sinks.Doc) error {
	for _, d := range docs {
		if d.View == "order_view" && d.ID == "1" {
			s.once.Do(func() { close(s.entered) })
			<-s.unstuck
			return errors.New("died")
		}
	}
	return s.holdingSink.Write(ctx, docs)
}

func conflictRows(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM projector.conflicts`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func userRec(id, offset int64, name string) []projector.Record {
	return []projector.Record{chunkRec("users", offset, map[string]any{"id": id, "name": name}, offset)}
}

// TestConflictHeldByWriterUntilItsHoldLapses: a doc set aside for a
// conflict stays in the state while an instance writes it again, held by
// that instance: another instance's batch does not take it meanwhile, and
// takes it once the hold lapses, as after the first died writing it.
func TestConflictHeldByWriterUntilItsHoldLapses(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, reviewHead+chunkYAML, nil)
	ctx := context.Background()
	shared := &holdingSink{viewSink: newViewSink()}
	shared.hold(true)
	a := chunkEngine(t, plan, pool, shared)
	if _, err := a.Process(ctx, chunkRecords(1)); err != nil {
		t.Fatal(err)
	}
	if n := conflictRows(t, pool); n != 1 {
		t.Fatalf("%d docs set aside after the batch, want order 1", n)
	}

	// B takes order 1 after its batch and is stuck writing it.
	stuck := &stuckSink{holdingSink: shared, entered: make(chan struct{}), unstuck: make(chan struct{})}
	b := chunkEngine(t, plan, pool, stuck)
	bctx, kill := context.WithCancel(ctx)
	bDone := make(chan struct{})
	go func() {
		defer close(bDone)
		_, _ = b.Process(bctx, userRec(2, 50, "other"))
	}()
	<-stuck.entered
	defer func() { kill(); close(stuck.unstuck); <-bDone }()
	if n := conflictRows(t, pool); n != 1 {
		t.Fatalf("%d docs set aside while an instance writes order 1 again, want order 1 kept until written", n)
	}

	// The value is freed. C's batch leaves order 1 to B, which holds it.
	shared.hold(false)
	c := chunkEngine(t, plan, pool, shared)
	if _, err := c.Process(ctx, userRec(3, 60, "x")); err != nil {
		t.Fatal(err)
	}
	if written(shared, "order_view/1") {
		t.Fatal("order 1 was written by an instance while another held it")
	}

	// B's hold lapses (B died): C's next batch takes order 1 and writes it.
	if _, err := pool.Exec(ctx, `UPDATE projector.conflicts SET updated_at = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Process(ctx, userRec(3, 61, "y")); err != nil {
		t.Fatal(err)
	}
	if !written(shared, "order_view/1") {
		t.Fatalf("order 1, held by an instance that died writing it, was not written once its hold lapsed (projector.conflicts holds %d rows)", conflictRows(t, pool))
	}
	if n := conflictRows(t, pool); n != 0 {
		t.Errorf("%d docs still set aside once order 1 was written, want none", n)
	}
}

func written(s *holdingSink, doc string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.docs[doc]
	return ok && !d.Deleted
}

// TestRecoveredConflictSetAsideWhenRecoverIsCalledAgain: a doc refused for
// a conflict while recovered, which the state could not set aside, keeps
// its pending row; the same instance's next Recover sets it aside before
// forgetting the row, though that chunk is not written again.
func TestRecoveredConflictSetAsideWhenRecoverIsCalledAgain(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, reviewHead+chunkYAML, nil)
	ctx := context.Background()
	exec := func(sql string) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	shared := &holdingSink{viewSink: newViewSink()}
	eng := chunkEngine(t, plan, pool, shared)
	if _, err := eng.Process(ctx, chunkRecords(0)); err != nil {
		t.Fatal(err)
	}
	exec(`INSERT INTO projector.state_orders (key, data, pos_hi, pos_lo) VALUES ('1', '{"id": 1, "user_id": 1, "status": "paid"}', 20, 0)`)
	exec(`INSERT INTO projector.pending_batches (docs) VALUES ('[{"view": "order_view", "doc_id": "1", "key": {"id": 1}}]')`)
	pendingRows := func() (n int) {
		t.Helper()
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM projector.pending_batches`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	shared.hold(true)
	exec(`ALTER TABLE projector.conflicts RENAME TO conflicts_down`)
	if err := eng.Recover(ctx); err == nil {
		t.Error("Recover succeeded though it could not set aside order 1")
	}
	exec(`ALTER TABLE projector.conflicts_down RENAME TO conflicts`)
	if n := pendingRows(); n != 1 {
		t.Fatalf("%d pending rows after a Recover that could not set order 1 aside, want its row kept", n)
	}
	if err := eng.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if n := pendingRows(); n != 0 {
		t.Errorf("%d pending rows after Recover succeeded, want none", n)
	}
	if n := conflictRows(t, pool); n != 1 {
		t.Errorf("%d docs set aside after Recover was called again, want order 1", n)
	}
}

// TestConflictRefusedByTwoStoresSetAsideOnce: a doc two stores refuse for
// a conflict is set aside in the state (once: recording it twice in one
// statement would fail).
func TestConflictRefusedByTwoStoresSetAsideOnce(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, reviewHead+chunkYAML, nil)
	ctx := context.Background()
	one, two := &holdingSink{viewSink: newViewSink()}, &holdingSink{viewSink: newViewSink()}
	one.hold(true)
	two.hold(true)
	eng, err := projector.New(projector.Options{Plan: plan, Pool: pool, ChunkDocs: chunk, Sinks: []projector.Route{
		{Sink: one, Views: viewNames(plan)}, {Sink: two, Views: viewNames(plan)}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Process(ctx, chunkRecords(1)); err != nil {
		t.Fatal(err)
	}
	if n := conflictRows(t, pool); n != 1 {
		t.Errorf("%d docs set aside in the state after two stores refused order 1, want 1", n)
	}
}
