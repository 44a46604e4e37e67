package cli

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// closeTimeout bounds how long a stopping process waits, in all, for its
// connections to close once its work is done: the rebuild watcher's
// deregistration and the PostgreSQL pools wait on a PostgreSQL that may
// hang (its host froze, a partition drops its packets). Nothing is left to
// save by then: what the batches wrote is committed, and what a connection
// left the server ends when the process exits.
const closeTimeout = 3 * time.Second

// teardown closes what a process opened, each close waited for until the
// process stops at once (hard ends: a second signal) or closeTimeout has
// passed since the first close began; a close not done by then goes on in
// the background, bounded by the clients' own timeouts, while the process
// exits.
type teardown struct {
	hard    context.Context
	log     *slog.Logger
	timeout time.Duration

	once    sync.Once
	expired chan struct{} // closed closeTimeout after the first close began
}

func newTeardown(hard context.Context, log *slog.Logger) *teardown {
	return &teardown{hard: hard, log: log, timeout: closeTimeout}
}

// close runs f, the closing of what, and waits for it as the teardown
// allows.
func (t *teardown) close(what string, f func()) {
	t.once.Do(func() {
		t.expired = make(chan struct{})
		time.AfterFunc(t.timeout, func() { close(t.expired) })
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-t.hard.Done():
	case <-t.expired:
		t.log.Warn("exiting without waiting for the connections to close: a store does not answer", "closing", what, "waited", t.timeout)
	}
}
