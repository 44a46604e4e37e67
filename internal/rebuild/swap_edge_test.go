package rebuild

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/rebuild/registry"
)

// TestKeepCountsFromReplacementAfterPartialRebuild: a rebuild of Redis
// only (--keep 0) retires generation 1 while its table still serves
// PostgreSQL. A later rebuild of PostgreSQL with --keep 1h replaces the
// table: the daemon's periodic drop keeps it for that hour, counted from
// the second swap, not from the first.
func TestKeepCountsFromReplacementAfterPartialRebuild(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	f.seed(d, 1, 20)
	env := f.openEnv()
	ctx := context.Background()
	if _, err := Run(ctx, env, Options{View: "item_view", Stores: []string{"redis"}, Keep: 0}); err != nil {
		t.Fatalf("rebuild of redis: %v", err)
	}
	res, err := Run(ctx, env, Options{View: "item_view", Stores: []string{"postgres"}, Keep: time.Hour})
	if err != nil {
		t.Fatalf("rebuild of postgres: %v", err)
	}
	if res.Replaced["postgres"] != 1 || f.readerTable() != "item_view__g3" {
		t.Fatalf("rebuild of postgres: %+v, readers on %s", res, f.readerTable())
	}
	// What the daemon's watcher does every DropEvery.
	snap, _ := env.Registry.Snapshot(ctx)
	waitFor(t, "the daemon to apply the swap", 10*time.Second, func() bool { return d.watcher.Applied() >= snap.Version })
	if err := env.dropExpired(ctx, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	if !f.tableExists("item_view__g1") {
		t.Errorf("item_view__g1, replaced in postgres a moment ago with --keep 1h, is already dropped")
	}
}

// TestResumeOfDroppedFailedGenerationForgetsTheDrop: a failed generation
// (keep 0) is dropped by the daemon's periodic drop, which records it as
// dropped. --resume creates its table again and forgets the drop, so once
// the generation is replaced its table is dropped like any other.
func TestResumeOfDroppedFailedGenerationForgetsTheDrop(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	f.seed(d, 1, 30)
	env := f.openEnv()
	ctx := context.Background()
	tamper := func(ctx context.Context, g registry.Generation) error {
		_, err := f.pool.Exec(ctx, `DELETE FROM item_view__g2 WHERE id = 6`)
		return err
	}
	_, err := Run(ctx, env, Options{View: "item_view", Keep: 0, VerifyTimeout: 300 * time.Millisecond, afterFill: tamper})
	if !errors.Is(err, ErrMismatch) {
		t.Fatalf("run: %v", err)
	}
	// The daemon drops the expired failed generation.
	waitFor(t, "the daemon to drop the failed generation", 10*time.Second, func() bool {
		_ = env.dropExpired(ctx, "", time.Now())
		return !f.tableExists("item_view__g2")
	})
	if _, err := Resume(ctx, env, Options{View: "item_view"}); err != nil {
		t.Fatalf("resume: %v", err)
	}
	snap, _ := env.Registry.Snapshot(ctx)
	if g, _ := snap.Get("item_view", 2); g.State != registry.Active || len(g.Dropped) != 0 {
		t.Errorf("generation 2 after resume: state %s, dropped %v (its table exists: %v)", g.State, g.Dropped, f.tableExists("item_view__g2"))
	}
	if _, err := Run(ctx, env, Options{View: "item_view", Keep: 0}); err != nil {
		t.Fatalf("next rebuild: %v", err)
	}
	if f.tableExists("item_view__g2") {
		t.Errorf("item_view__g2 is replaced (keep 0) but never dropped")
	}
}

// TestAbortPointsReadersBackAfterPartialSwap: readers left on the new
// generation by a swap that died before the registry recorded it (as an
// earlier version could leave them) go back to the served generation on
// --abort, before the daemons stop writing the aborted one; its table is
// then dropped and readers see the live changes.
func TestAbortPointsReadersBackAfterPartialSwap(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	source := f.seed(d, 1, 30)
	env := f.openEnv()
	ctx := context.Background()
	fillOnly(t, env)
	// A swap that moved readers, then died before the registry recorded it.
	if _, err := env.Registry.Transition(ctx, "item_view", 2, []registry.State{registry.Building}, registry.Verifying, "", false); err != nil {
		t.Fatal(err)
	}
	sink, err := env.postgresSink("item_view", 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Activate(ctx, "item_view", 2); err != nil {
		t.Fatal(err)
	}
	_, aerr := Abort(ctx, env, "item_view", 10*time.Second)
	if aerr != nil {
		t.Errorf("abort: %v", aerr)
	}
	if err := d.apply(ctx, map[int64]*item{7: {Name: "after the abort", Qty: 1}}); err != nil {
		t.Fatal(err)
	}
	source[7] = &item{Name: "after the abort", Qty: 1}
	if got := f.readerTable(); got != "item_view__g1" {
		t.Errorf("after --abort readers select from %s, want the served item_view__g1", got)
	}
	f.wantDocs(source)
}

// TestDaemonStartedDuringSwapFollowsServedGeneration: a daemon that starts
// while readers are on generation 2 but the registry still serves 1 points
// readers at 1 (what it serves); once the registry records the swap, the
// daemon points them at 2 before it reports the version applied.
func TestDaemonStartedDuringSwapFollowsServedGeneration(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	source := f.seed(d, 1, 30)
	env := f.openEnv()
	ctx := context.Background()
	fillOnly(t, env)
	if _, err := env.Registry.Transition(ctx, "item_view", 2, []registry.State{registry.Building}, registry.Verifying, "", false); err != nil {
		t.Fatal(err)
	}
	d.stop() // the daemon restarts ...
	sink, err := env.postgresSink("item_view", 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Activate(ctx, "item_view", 2); err != nil { // r.swap
		t.Fatal(err)
	}
	d2 := f.startDaemon() // ... in the window
	// The restarted daemon reads on from where the first one stopped: a
	// change at an older source position would be skipped as stale.
	d2.lsn, d2.offset = d.lsn, d.offset
	if _, err := env.Registry.Swap(ctx, "item_view", 2, 0, ""); err != nil {
		t.Fatal(err)
	}
	snap, _ := env.Registry.Snapshot(ctx)
	waitFor(t, "the daemon to apply the swap", 10*time.Second, func() bool { return d2.watcher.Applied() >= snap.Version })
	if err := d2.apply(ctx, map[int64]*item{7: {Name: "after the swap", Qty: 1}}); err != nil {
		t.Fatal(err)
	}
	source[7] = &item{Name: "after the swap", Qty: 1}
	if got := f.readerTable(); got != "item_view__g2" {
		t.Errorf("readers select from %s after the swap to generation 2", got)
	}
	f.wantDocs(source)
}

// TestSwapRefusedByRegistryLeavesReadersOnServedGeneration: the reader view
// moves in the registry's swap transaction, so a swap the registry refuses
// (the generation changed state meanwhile) leaves readers where they were.
func TestSwapRefusedByRegistryLeavesReadersOnServedGeneration(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	source := f.seed(d, 1, 30)
	env := f.openEnv()
	ctx := context.Background()
	fillOnly(t, env)
	snap, err := env.Registry.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := snap.Get("item_view", 2)
	r := &run{env: env, gen: g, res: Result{Replaced: map[string]int{registry.StorePostgres: 1}}}
	if err := r.swap(ctx, report{}); !errors.Is(err, registry.ErrConflict) { // still building
		t.Fatalf("swap of a building generation: %v, want ErrConflict", err)
	}
	if got := f.readerTable(); got != "item_view__g1" {
		t.Errorf("after a refused swap readers select from %s, want item_view__g1", got)
	}
	if snap, _ = env.Registry.Snapshot(ctx); snap.Serving("item_view", registry.StorePostgres) != 1 {
		t.Errorf("after a refused swap the registry serves %d", snap.Serving("item_view", registry.StorePostgres))
	}
	f.wantDocs(source)
}

// fillOnly runs a rebuild of item_view that stops once generation 2 is
// filled, before it is verified and swapped.
func fillOnly(t *testing.T, env *Env) {
	t.Helper()
	stop := errors.New("stop")
	if _, err := Run(context.Background(), env, Options{View: "item_view", afterFill: func(context.Context, registry.Generation) error { return stop }}); !errors.Is(err, stop) {
		t.Fatalf("run: %v", err)
	}
}
