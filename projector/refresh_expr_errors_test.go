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

// clockRig is an engine on PostgreSQL over posts, with views (the YAML of
// views: over them), a clock the test sets and metrics it reads.
type clockRig struct {
	eng   *projector.Engine
	sink  *viewSink
	reg   *prometheus.Registry
	start time.Time
	now   atomic.Int64
}

func newClockRig(t *testing.T, views string) *clockRig {
	t.Helper()
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://unused/x" } }
sources:
  posts: { topic: t.public.posts, format: json, key: id, columns: { id: bigint, title: text, publish_at: timestamptz } }
views:
`+views, nil)
	r := &clockRig{sink: newViewSink(), reg: prometheus.NewRegistry(), start: time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)}
	r.now.Store(r.start.UnixNano())
	eng, err := projector.New(projector.Options{Plan: plan, Pool: pool, Metrics: projector.NewMetrics(r.reg),
		Sinks: []projector.Route{{Sink: r.sink, Views: viewNames(plan)}}, Clock: func() time.Time { return time.Unix(0, r.now.Load()) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	r.eng = eng
	return r
}

// post applies post 1 with title, published at start + at.
func (r *clockRig) post(t *testing.T, title string, at time.Duration) {
	t.Helper()
	p := map[string]any{"id": json.Number("1"), "title": title, "publish_at": r.start.Add(at).Format(time.RFC3339)}
	if err := r.eng.ProcessChanges(t.Context(), "posts", []debezium.Change{{Kind: debezium.KindChange, Op: debezium.OpCreate, Position: debezium.Position{Lo: 1}, After: p}}); err != nil {
		t.Fatal(err)
	}
}

// refresh moves the clock to start + at and refreshes view, returning how
// many documents it wrote and how much projector_expression_errors_total
// grew meanwhile.
func (r *clockRig) refresh(t *testing.T, view string, at time.Duration) (written int, exprErrors float64) {
	t.Helper()
	before, _ := metricValue(t, r.reg, "projector_expression_errors_total", nil)
	r.now.Store(r.start.Add(at).UnixNano())
	n, err := r.eng.Refresh(t.Context(), view, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := metricValue(t, r.reg, "projector_expression_errors_total", nil)
	return n, after - before
}

// TestRefreshCountsAnArrivalsErrorsOnce: a document the clock brings into
// a view at a refresh was computed twice, once to tell whether it arrived
// and once to write it, and its failing expression counted in
// projector_expression_errors_total twice. It counts once, as a write.
func TestRefreshCountsAnArrivalsErrorsOnce(t *testing.T) {
	r := newClockRig(t, `  live:
    from: posts
    where: publish_at <= now()
    refresh: 1s
    fields: { id: id, n: { expr: "int(title)", type: bigint } }
    sinks: { postgres: {} }
`)
	r.post(t, "not a number", time.Hour)
	// A refresh before its time writes its absence, which the next
	// refreshes check is still so before they write it again.
	r.refresh(t, "live", 0)
	n, errs := r.refresh(t, "live", 2*time.Hour)
	if n != 1 {
		t.Fatalf("refresh wrote %d docs; want the post that arrived", n)
	}
	r.sink.mu.Lock()
	d, ok := r.sink.docs["live/1"]
	r.sink.mu.Unlock()
	if !ok || d.Deleted || d.Fields["n"] != nil {
		t.Fatalf("live/1 = %+v (present %v), want the post with n null", d, ok)
	}
	if errs != 1 {
		t.Errorf("projector_expression_errors_total grew by %v at the refresh, want 1 (int(title) failed once, for the one write)", errs)
	}
}
