package projector_test

// Hostile review (2) of 0ffbdff ("refusals count once written"): Recover
// works one pending row at a time, but a row it did not finish is started
// again from its first chunk by the next Recover.

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// TestReview2RecoverRefusalsCountedOnceOnRetry: a batch of 3 chunks of
// documents is applied (Prepare) and the process stops before writing it:
// its pending row holds 12 docs. At the next start Recover writes the
// first chunk (one store refuses every doc), then the other store goes
// down and Recover gives up (the consumer retries it with backoff). The
// next Recover starts that pending row again from its first chunk
// (writePending's count of written chunks is local to the call), writes
// it again and counts its refusals a second time: projector_docs_refused_
// total says 16 refusals for 12 docs. Complete keeps b.done across calls
// for exactly this reason; Recover needs the same (or writePending a
// per-row count kept by the caller).
func TestReview2RecoverRefusalsCountedOnceOnRetry(t *testing.T) {
	const n = 3 * chunk
	_, plan := loadPlan(t, reviewHead+chunkYAML, nil)
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()

	// The instance that stops: it applies the batch, writes nothing.
	first := crEngine(t, plan, pool, chunk, newViewSink())
	if _, err := first.Prepare(ctx, chunkRecords(n)); err != nil {
		t.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	refuser := &crRefuser{}
	flaky := &crFlaky{viewSink: newViewSink()}
	eng, err := projector.New(projector.Options{Plan: plan, Pool: pool, ChunkDocs: chunk, Metrics: projector.NewMetrics(reg),
		Sinks: []projector.Route{{Sink: refuser, Views: viewNames(plan)}, {Sink: flaky, Views: viewNames(plan)}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// The second chunk's write fails; the caller gives up (its context ends).
	rctx, cancel := context.WithCancel(ctx)
	flaky.mu.Lock()
	flaky.failAt, flaky.onFail = 2, cancel
	flaky.mu.Unlock()
	if err := eng.Recover(rctx); err == nil {
		t.Fatal("Recover returned nil though its context ended while a store was down")
	}
	flaky.up()
	if err := eng.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	checkCustomers(t, flaky.viewSink, n, "ann")
	got, _ := metricValue(t, reg, "projector_docs_refused_total", map[string]string{"sink": "refuser"})
	if got != n {
		t.Errorf("projector_docs_refused_total grew by %v for %d refused docs (Recover wrote and counted the chunk written before its error again)", got, n)
	}
}
