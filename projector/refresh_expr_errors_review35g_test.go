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

// TestR35gRefreshCountsAnAbsentDocsErrors: README: "At run time an error
// gives null and counts in projector_expression_errors_total". A refresh
// evaluates the where of a document whose absence it wrote before to tell
// whether it is absent still (keepArrivals); since 4987dc2 that peek counts
// nothing, on the ground that "the write computes the same", but a document
// still absent is not written: its failing where is evaluated at every
// refresh and never counted again (before 4987dc2 once per refresh).
func TestR35gRefreshCountsAnAbsentDocsErrors(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://unused/x" } }
sources:
  posts: { topic: t.public.posts, format: json, key: id, columns: { id: bigint, title: text, publish_at: timestamptz } }
views:
  live:
    from: posts
    where: publish_at <= now() and int(title) > 0
    refresh: 1s
    fields: { id: id, title: title }
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
	post := map[string]any{"id": json.Number("1"), "title": "not a number", "publish_at": start.Add(-time.Hour).Format(time.RFC3339)}
	if err := eng.ProcessChanges(ctx, "posts", []debezium.Change{{Kind: debezium.KindChange, Op: debezium.OpCreate, Position: debezium.Position{Lo: 1}, After: post}}); err != nil {
		t.Fatal(err)
	}
	// The first refresh writes the post's absence; the next ones check it
	// is absent still, evaluating int(title) each time.
	if _, err := eng.Refresh(ctx, "live", "", nil); err != nil {
		t.Fatal(err)
	}
	before, _ := metricValue(t, reg, "projector_expression_errors_total", nil)
	now.Store(start.Add(time.Hour).UnixNano())
	if _, err := eng.Refresh(ctx, "live", "", nil); err != nil {
		t.Fatal(err)
	}
	if after, _ := metricValue(t, reg, "projector_expression_errors_total", nil); after-before != 1 {
		t.Errorf("projector_expression_errors_total grew by %v at the refresh, want 1 (the where's int(title) failed once)", after-before)
	}
}
