package rebuild

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/rebuild/registry"
)

// TestKafkaUnreachableAtStart: a rebuild --from kafka whose brokers do not
// answer at all (nothing listens on the configured port) waits ReplayIdle
// for them, as a replay does when they stop answering in its middle, then
// fails with ErrKafkaUnreachable; it failed at once with the dial error.
// It had written nothing to its new generation, so the generation is
// aborted and its table dropped (ErrDiscarded) instead of refusing the
// view's next rebuild until --abort. Generation 1, never swapped in, has
// no swap time.
func TestKafkaUnreachableAtStart(t *testing.T) {
	f := newFixture(t) // kafka.brokers: localhost:1
	d := f.startDaemon()
	source := f.seed(d, 1, 30)
	env := f.openEnv()
	ctx := context.Background()

	const idle = 500 * time.Millisecond
	start := time.Now()
	_, err := Run(ctx, env, Options{View: "item_view", From: registry.SourceKafka, Keep: 0, ReplayIdle: idle})
	t.Logf("rebuild --from kafka without brokers, after %s: %v", time.Since(start), err)
	if !errors.Is(err, ErrKafkaUnreachable) || !strings.Contains(err.Error(), "kafka unreachable during replay") {
		t.Fatalf("rebuild --from kafka without brokers: %v, want ErrKafkaUnreachable", err)
	}
	if waited := time.Since(start); waited < idle {
		t.Errorf("failed after %s, want a wait of ReplayIdle (%s) for the brokers", waited, idle)
	}
	if !errors.Is(err, ErrDiscarded) {
		t.Errorf("error %v does not say the untouched generation was discarded", err)
	}

	snap, err := env.Registry.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := snap.Building("item_view"); ok {
		t.Errorf("generation %d is still %s after a rebuild that wrote nothing failed", b.Number, b.State)
	}
	g2, _ := snap.Get("item_view", 2)
	if g2.State != registry.Aborted || !slices.Contains(g2.Dropped, registry.StorePostgres) || !strings.Contains(g2.Error, "kafka unreachable") {
		t.Errorf("generation 2: state %s, dropped %v, error %q; want aborted, its table dropped, the cause recorded", g2.State, g2.Dropped, g2.Error)
	}
	if f.tableExists("item_view__g2") {
		t.Error("table item_view__g2 of the discarded generation still exists")
	}
	if g1, _ := snap.Get("item_view", 1); g1.SwappedAt != nil {
		t.Errorf("generation 1 (initial, never swapped in) has swap time %s", g1.SwappedAt)
	}
	if got := f.readerTable(); got != "item_view__g1" {
		t.Errorf("readers see %s, want item_view__g1", got)
	}

	// The next plain rebuild is not refused.
	res, err := Run(ctx, env, Options{View: "item_view", Keep: 0})
	if err != nil {
		t.Fatalf("rebuild after the discarded one: %v", err)
	}
	if res.Generation != 3 {
		t.Errorf("rebuild after the discarded one built generation %d, want 3", res.Generation)
	}
	f.wantDocs(source)
}

// TestDiscardKeepsWorkDone: a rebuild that did work --resume keeps (here a
// fill interrupted after its first chunks were recorded) is not discarded:
// its generation stays building for --resume.
func TestDiscardKeepsWorkDone(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	f.seed(d, 1, 50)
	env := f.openEnv()
	ctx := context.Background()

	boom := errors.New("stopped after the fill")
	_, err := Run(ctx, env, Options{View: "item_view", Keep: 0, Chunk: 10, Workers: 1,
		afterFill: func(context.Context, registry.Generation) error { return boom }})
	if !errors.Is(err, boom) || errors.Is(err, ErrDiscarded) {
		t.Fatalf("rebuild stopped after its fill: %v, want the cause alone", err)
	}
	snap, err := env.Registry.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := snap.Building("item_view"); !ok || b.Number != 2 || !b.Filled {
		t.Fatalf("generation being built: %+v (%v), want 2, filled", b, ok)
	}
	if _, err := Resume(ctx, env, Options{View: "item_view"}); err != nil {
		t.Fatalf("resume: %v", err)
	}
}
