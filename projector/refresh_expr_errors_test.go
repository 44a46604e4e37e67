package projector_test

import (
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// TestRefreshCountsAnArrivalsErrorsOnce: a document the clock brings into
// a view at a refresh was computed twice, once to tell whether it arrived
// and once to write it, and its failing expression counted in
// projector_expression_errors_total twice. It counts once, as a write.
func TestRefreshCountsAnArrivalsErrorsOnce(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://unused/x" } }
sources:
  posts: { topic: t.public.posts, format: json, key: id, columns: { id: bigint, title: text, publish_at: timestamptz } }
views:
  live:
    from: posts
    where: publish_at <= now()
    refresh: 1s
    fields: { id: id, n: { expr: "int(title)", type: bigint } }
    sinks: { postgres: {} }
`, nil)
	start := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	var now atomic.Int64
	now.Store(start.UnixNano())
	reg := prometheus.NewRegistry()
	sink := newViewSink()
	eng, err := projector.New(projector.Options{Plan: plan, Pool: pool, Metrics: projector.NewMetrics(reg),
		Sinks: []projector.Route{{Sink: sink, Views: viewNames(plan)}}, Clock: func() time.Time { return time.Unix(0, now.Load()) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := eng.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	post := map[string]any{"id": json.Number("1"), "title": "not a number", "publish_at": start.Add(time.Hour).Format(time.RFC3339)}
	if err := eng.ProcessChanges(ctx, "posts", []debezium.Change{{Kind: debezium.KindChange, Op: debezium.OpCreate, Position: debezium.Position{Lo: 1}, After: post}}); err != nil {
		t.Fatal(err)
	}
	// A refresh before its time writes its absence, which the next
	// refreshes check is still so before they write it again.
	if _, err := eng.Refresh(ctx, "live", "", nil); err != nil {
		t.Fatal(err)
	}
	before, _ := metricValue(t, reg, "projector_expression_errors_total", nil)

	now.Store(start.Add(2 * time.Hour).UnixNano())
	if n, err := eng.Refresh(ctx, "live", "", nil); err != nil || n != 1 {
		t.Fatalf("refresh wrote %d docs, %v; want the post that arrived", n, err)
	}
	sink.mu.Lock()
	d, ok := sink.docs["live/1"]
	sink.mu.Unlock()
	if !ok || d.Deleted || d.Fields["n"] != nil {
		t.Fatalf("live/1 = %+v (present %v), want the post with n null", d, ok)
	}
	if after, _ := metricValue(t, reg, "projector_expression_errors_total", nil); after-before != 1 {
		t.Errorf("projector_expression_errors_total grew by %v at the refresh, want 1 (int(title) failed once, for the one write)", after-before)
	}
}
