package projector_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// r34hKillingSink is a holdingSink that, once armed, kills its instance
// (cancels its context) at its next write and fails it, as a process
// that dies (or is stopped past its shutdown timeout) during that write.
type r34hKillingSink struct {
	*holdingSink
	mu    sync.Mutex
	armed bool
	kill  func()
}

func (s *r34hKillingSink) Write(ctx context.Context, docs []sinks.Doc) error {
	s.mu.Lock()
	armed := s.armed
	s.mu.Unlock()
	if armed {
		s.kill()
		return errors.New("killed")
	}
	return s.holdingSink.Write(ctx, docs)
}

// TestR34hConflictTakenByDyingInstanceIsKept: the README keeps a document
// refused for a unique conflict in the state (projector.conflicts) so that
// "any instance's next batch takes them, so one whose instance stopped or
// has nothing to do is not left behind". Instance A sets order 1 aside
// and stops. Instance B's next batch takes it from the state to write it
// again and dies during that write. Once the value is free, instance C's
// batches must still write order 1; but B deleted the row when it took it
// and could not record it again, so no one ever writes it.
func TestR34hConflictTakenByDyingInstanceIsKept(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, reviewHead+chunkYAML, nil)
	shared := &holdingSink{viewSink: newViewSink()}
	shared.hold(true)
	ctx := context.Background()

	// A: order 1 refused for a conflict, set aside; then A stops.
	a := chunkEngine(t, plan, pool, shared)
	if _, err := a.Process(ctx, chunkRecords(1)); err != nil {
		t.Fatal(err)
	}
	var kept int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM projector.conflicts`).Scan(&kept); err != nil {
		t.Fatal(err)
	}
	if kept != 1 {
		t.Fatalf("%d docs set aside in the state after A's batch, want order 1", kept)
	}

	// B: its batch (another user) is written; retrying the conflicts
	// after it, B dies in the write.
	bctx, kill := context.WithCancel(ctx)
	defer kill()
	bs := &r34hKillingSink{holdingSink: shared, kill: kill}
	b := chunkEngine(t, plan, pool, bs)
	pb, err := b.Prepare(bctx, []projector.Record{chunkRec("users", 50, map[string]any{"id": 2, "name": "other"}, 50)})
	if err != nil {
		t.Fatal(err)
	}
	bs.mu.Lock()
	bs.armed = true
	bs.mu.Unlock()
	// The batch's own docs (user 2 is in no order) need no write; the
	// first write is the conflicts' retry.
	_ = b.Complete(bctx, pb)

	// The value is freed; C runs the next batches.
	shared.hold(false)
	c := chunkEngine(t, plan, pool, shared)
	for i, name := range []string{"x", "y"} {
		if _, err := c.Process(ctx, []projector.Record{chunkRec("users", int64(60+i), map[string]any{"id": 3, "name": name}, int64(60+i))}); err != nil {
			t.Fatal(err)
		}
	}
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if d, ok := shared.docs["order_view/1"]; !ok || d.Deleted {
		var left int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM projector.conflicts`).Scan(&left); err != nil {
			t.Fatal(err)
		}
		t.Errorf("order 1, set aside for a conflict by A and taken by B, which died writing it, was never written again (projector.conflicts holds %d rows)", left)
	}
}

// r34hBlipSink refuses order 1 for a conflict, as holdingSink does, and
// while it refuses it the state cannot record conflicts (a short outage
// of that table, made by renaming it).
type r34hBlipSink struct {
	*holdingSink
	exec func(string)
}

func (s *r34hBlipSink) Write(ctx context.Context, docs []sinks.Doc) error {
	err := s.holdingSink.Write(ctx, docs)
	if err != nil {
		s.exec(`ALTER TABLE projector.conflicts RENAME TO conflicts_r34h`)
	}
	return err
}

// TestR34hRecoveredConflictKeptWhenStateFails: a stopped instance left
// order 1 pending; the next start recovers it and the store refuses it for
// a unique conflict, while the state cannot record the conflict. The
// README keeps such a document in the state until a store takes it ("So
// is one refused when a consumer recovers the pending documents a stopped
// instance left"); here its pending row is forgotten all the same, so
// once that instance stops too, no one writes order 1 again.
func TestR34hRecoveredConflictKeptWhenStateFails(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, reviewHead+chunkYAML, nil)
	ctx := context.Background()
	exec := func(sql string) {
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Error(err)
		}
	}
	shared := &holdingSink{viewSink: newViewSink()}
	first := chunkEngine(t, plan, pool, shared)
	if _, err := first.Process(ctx, chunkRecords(0)); err != nil { // user 1 only
		t.Fatal(err)
	}
	// A stopped instance applied order 1 and left its doc pending.
	if _, err := pool.Exec(ctx, `INSERT INTO projector.state_orders (key, data, pos_hi, pos_lo) VALUES ('1', '{"id": 1, "user_id": 1, "status": "paid"}', 20, 0)`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO projector.pending_batches (docs) VALUES ('[{"view": "order_view", "doc_id": "1", "key": {"id": 1}}]')`); err != nil {
		t.Fatal(err)
	}
	shared.hold(true)
	blip := &r34hBlipSink{holdingSink: shared, exec: exec}
	restarted := chunkEngine(t, plan, pool, blip)
	recErr := restarted.Recover(ctx)
	exec(`ALTER TABLE IF EXISTS projector.conflicts_r34h RENAME TO conflicts`)
	// The restarted instance stops; the value is freed; another runs the
	// next batches.
	shared.hold(false)
	next := chunkEngine(t, plan, pool, shared)
	if recErr != nil {
		// Kept pending: the next start recovers it.
		if err := next.Recover(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for i, name := range []string{"x", "y"} {
		if _, err := next.Process(ctx, []projector.Record{chunkRec("users", int64(60+i), map[string]any{"id": 3, "name": name}, int64(60+i))}); err != nil {
			t.Fatal(err)
		}
	}
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if d, ok := shared.docs["order_view/1"]; !ok || d.Deleted {
		t.Errorf("order 1, refused for a conflict while recovered and not recorded in projector.conflicts (state failing), lost its pending row (Recover returned %v) and was never written again", recErr)
	}
}
