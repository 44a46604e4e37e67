package projector_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// R34cWarnings records the messages logged at warn or above, and says when
// one comes.
type R34cWarnings struct {
	mu    *sync.Mutex
	msgs  *[]string
	added chan struct{}
	attrs []slog.Attr
}

func (h R34cWarnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (h R34cWarnings) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	for _, a := range h.attrs {
		b.WriteString(" " + a.String())
	}
	r.Attrs(func(a slog.Attr) bool { b.WriteString(" " + a.String()); return true })
	h.mu.Lock()
	*h.msgs = append(*h.msgs, b.String())
	h.mu.Unlock()
	select {
	case h.added <- struct{}{}:
	default:
	}
	return nil
}

func (h R34cWarnings) WithAttrs(a []slog.Attr) slog.Handler {
	h.attrs = append(append([]slog.Attr(nil), h.attrs...), a...)
	return h
}

func (h R34cWarnings) WithGroup(string) slog.Handler { return h }

// TestR34cRefreshClaimFailureIsLogged: a view's refresh whose claim fails
// (here: projector's refreshes table cannot be written) never runs, and
// says nothing: keepRefreshing drops refreshIfDue's error ("logged
// there"), but refreshIfDue returns a claim's error without logging it.
// An operator sees projector_refresh_last_completed_timestamp_seconds
// never appear and no log line saying why.
func TestR34cRefreshClaimFailureIsLogged(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, refreshYAML, nil)
	logs := R34cWarnings{mu: &sync.Mutex{}, msgs: new([]string), added: make(chan struct{}, 1)}
	eng, err := projector.New(projector.Options{Plan: plan, Pool: pool, Sinks: []projector.Route{{Sink: newViewSink(), Views: viewNames(plan)}},
		Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := eng.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// The refresh cannot be claimed: its table is not writable.
	if _, err := pool.Exec(ctx, `ALTER TABLE projector.refreshes RENAME TO refreshes_r34c`); err != nil {
		t.Fatal(err)
	}
	refreshing, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { eng.KeepRefreshing(refreshing) })
	defer func() { stop(); wg.Wait() }()
	// Both views are due at once (refresh: 1s); give the refreshes a few
	// ticks to say why they do not run.
	deadline := time.After(10 * time.Second)
	for {
		logs.mu.Lock()
		for _, m := range *logs.msgs {
			if strings.Contains(m, "refresh") {
				logs.mu.Unlock()
				return
			}
		}
		logs.mu.Unlock()
		select {
		case <-logs.added:
		case <-deadline:
			logs.mu.Lock()
			seen := append([]string(nil), *logs.msgs...)
			logs.mu.Unlock()
			t.Fatalf("the views' refreshes cannot be claimed and never ran, and nothing was logged at warn or above: %q", seen)
		}
	}
}
