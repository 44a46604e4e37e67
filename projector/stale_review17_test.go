package projector_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// TestR17ReplayedPairInOneBatchIsStale: a restart replays two older
// changes of a row the state already holds at a newer position. Both are
// skipped by the position guard; in two batches both count stale. In one
// batch, fold counts the first as "superseded", i.e. applied, although
// the change that superseded it is itself stale.
func TestR17ReplayedPairInOneBatchIsStale(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	reg := prometheus.NewRegistry()
	eng := widgetEngine(t, pgURL, newViewSink(), reg, nil, 0)
	ctx := context.Background()
	stale := func() float64 {
		v, _ := metricValue(t, reg, "projector_changes_stale_total", map[string]string{"source": "widgets"})
		return v
	}
	applied := func() float64 {
		v, _ := metricValue(t, reg, "projector_changes_applied_total", map[string]string{"source": "widgets"})
		return v
	}
	if _, err := eng.Process(ctx, []projector.Record{r15oWidgetAt("a", 9000, 0)}); err != nil {
		t.Fatal(err)
	}
	if a, s := applied(), stale(); a != 1 || s != 0 {
		t.Fatalf("after the first change: applied %v stale %v", a, s)
	}
	// The replay: two older changes of row a, in order, in one batch.
	if _, err := eng.Process(ctx, []projector.Record{r15oWidgetAt("a", 3000, 1), r15oWidgetAt("a", 4000, 2)}); err != nil {
		t.Fatal(err)
	}
	if a, s := applied(), stale(); a != 1 || s != 2 {
		t.Errorf("after replaying two older changes in one batch: applied_total %v, stale_total %v; want 1 and 2 (both were skipped by the position guard, as two batches would count)", a, s)
	}
}
