package rebuild

import (
	"context"
	"sync"
	"testing"
	"time"
)

// InterruptAt runs a rebuild of item_view with keep and cancels it when it
// enters phase (tests of the command line).
func (x *Fixture) InterruptAt(t *testing.T, phase string, keep time.Duration) {
	t.Helper()
	env := x.f.openEnv()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := onPhase{phase: phase, once: &sync.Once{}, fn: cancel}
	if _, err := Run(ctx, env, Options{View: "item_view", Keep: keep, Progress: stop}); err == nil {
		t.Fatalf("rebuild interrupted at %s succeeded", phase)
	}
}
