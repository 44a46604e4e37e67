package rebuild

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/rebuild/registry"
)

// TestAbortInterruptedBeforeDropCanBeFinished: an abort recorded the
// generation aborted, then stopped before dropping its targets (its wait
// for the daemons cancelled). Another --abort finishes it: the targets go,
// instead of "nothing to abort" and a table left until drop_after.
func TestAbortInterruptedBeforeDropCanBeFinished(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	f.seed(d, 1, 10)
	ctx := context.Background()
	env := f.openEnv()
	stop, cancel := context.WithCancel(ctx)
	interrupt := onPhase{phase: "fill", once: &sync.Once{}, fn: cancel}
	if _, err := Run(stop, env, Options{View: "item_view", Keep: time.Hour, Progress: interrupt}); err == nil {
		t.Fatal("the interrupted rebuild succeeded")
	}
	// The first half of an abort: recorded, nothing dropped.
	if _, err := env.Registry.Transition(ctx, "item_view", 2, []registry.State{registry.Building}, registry.Aborted, "aborted", false); err != nil {
		t.Fatal(err)
	}
	if !f.tableExists("item_view__g2") {
		t.Fatal("generation 2's table is gone before the abort finished")
	}
	g, err := Abort(ctx, f.openEnv(), "item_view", 10*time.Second)
	if err != nil || g.Number != 2 {
		t.Fatalf("abort again: generation %d, %v; want generation 2 finished", g.Number, err)
	}
	if f.tableExists("item_view__g2") {
		t.Error("generation 2's table is still there after the abort finished")
	}
}
