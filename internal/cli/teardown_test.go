package cli

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestTeardownWaitsForCloses: a close that ends is waited for.
func TestTeardownWaitsForCloses(t *testing.T) {
	td := newTeardown(context.Background(), slog.New(slog.DiscardHandler))
	closed := false
	td.close("stores", func() { closed = true })
	if !closed {
		t.Error("close returned before the stores were closed")
	}
}

// TestTeardownStopsWaitingAtAHardStop: after the second signal a close
// that hangs (a PostgreSQL that does not answer) is not waited for.
func TestTeardownStopsWaitingAtAHardStop(t *testing.T) {
	hard, cancel := context.WithCancel(context.Background())
	td := newTeardown(hard, slog.New(slog.DiscardHandler))
	hung := make(chan struct{})
	defer close(hung)
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		td.close("stores", func() { <-hung })
	}()
	cancel()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("close still waiting 10s after the hard stop")
	}
	// Once stopped at once, nothing more is waited for.
	td.close("rebuild watcher", func() { <-hung })
}

// TestTeardownIsBounded: after a first signal the closes get closeTimeout
// in all; past it the process exits, saying so.
func TestTeardownIsBounded(t *testing.T) {
	logs := &testenv.Logs{}
	td := newTeardown(context.Background(), slog.New(slog.NewTextHandler(logs, nil)))
	td.timeout = 50 * time.Millisecond
	hung := make(chan struct{})
	defer close(hung)
	td.close("rebuild watcher", func() { <-hung })
	td.close("stores", func() { <-hung }) // the same budget, spent
	if got := strings.Count(logs.String(), "exiting without waiting for the connections to close"); got != 2 {
		t.Errorf("%d warnings, want one per close not waited for:\n%s", got, logs)
	}
}
