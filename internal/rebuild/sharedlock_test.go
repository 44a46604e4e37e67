package rebuild

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestRefusedReReadLeavesNoGeneration: a rebuild --from source of
// item_view while another process rebuilds item_view2 (same source) is
// refused, and leaves nothing behind (no generation building, which the
// daemons would write to): once item_view2's rebuild ended, the same
// rebuild of item_view runs.
func TestRefusedReReadLeavesNoGeneration(t *testing.T) {
	f := newFixtureYAML(t, twoViewsYAML, "", "")
	d := f.startDaemon()
	ctx := context.Background()
	srcPool, srcURL := testenv.Postgres(t)
	if _, err := srcPool.Exec(ctx, `CREATE TABLE public.items (id bigint PRIMARY KEY, name text, qty bigint);
		INSERT INTO public.items SELECT g, 'item-' || g, g FROM generate_series(1, 20) g;`); err != nil {
		t.Fatal(err)
	}
	f.seed(d, 1, 20)

	envA, envB := f.openEnv(), f.openEnv()
	fromSource := func(env *Env) error {
		_, err := Run(ctx, env, Options{View: "item_view", From: "source", Keep: time.Hour, Chunk: 50,
			SourceURLs: map[string]string{"items": srcURL}})
		return err
	}
	var aerr error
	during := onPhase{phase: "fill", once: &sync.Once{}, fn: func() { aerr = fromSource(envA) }}
	if _, err := Run(ctx, envB, Options{View: "item_view2", Keep: 0, Progress: during}); err != nil {
		t.Fatalf("rebuild of item_view2: %v", err)
	}
	if !errors.Is(aerr, ErrInProgress) {
		t.Fatalf("rebuild --from source of item_view during item_view2's rebuild: %v, want ErrInProgress", aerr)
	}
	if err := fromSource(envA); err != nil {
		t.Fatalf("rebuild --from source of item_view after item_view2's rebuild ended: %v", err)
	}
}

// TestReReadsOfSharingViewsTogether: two rebuilds that read a shared source
// again, of item_view and item_view2, taking their locks at the same
// moment: one of them gets every lock it needs. Each used to take its own
// view's lock first and then wait for the other's, and both were refused.
func TestReReadsOfSharingViewsTogether(t *testing.T) {
	f := newFixtureYAML(t, twoViewsYAML, "", "")
	ctx := context.Background()
	envs := []*Env{f.openEnv(), f.openEnv()}
	views := []string{"item_view", "item_view2"}
	for round := range 3 {
		var start, tried sync.WaitGroup
		start.Add(1)
		tried.Add(2)
		errs := make([]error, 2)
		releases := make([]func(), 2)
		for i := range 2 {
			go func() {
				start.Wait()
				releases[i], errs[i] = envs[i].lockView(ctx, views[i], true)
				tried.Done()
			}()
		}
		start.Done()
		tried.Wait() // the winner holds its locks until the other gave up
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
				releases[i]()
			case !errors.Is(err, ErrInProgress):
				t.Fatalf("round %d: locks for %s: %v", round, views[i], err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d of the two rebuilds got their locks (%v), want one", round, won, errs)
		}
	}
}
