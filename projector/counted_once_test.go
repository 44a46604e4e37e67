package projector_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// TestAppliedCountedOnceWhenStateTxRetried: a state transaction that
// PostgreSQL aborts with a serialization failure (or a deadlock, between
// two instances) is retried by retryTx; what it applied is counted in
// projector_changes_applied_total once it commits, so only the attempt
// that went through counts. One record, one change: the counter says 1.
func TestAppliedCountedOnceWhenStateTxRetried(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	eng := widgetEngine(t, pgURL, newViewSink(), reg, nil, 0)
	// The first insert of pending docs fails with a serialization failure,
	// as a concurrent instance's transaction can make it; the sequence
	// (not transactional) counts the attempts.
	if _, err := pool.Exec(ctx, `CREATE SEQUENCE projector.fail_once_seq`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CREATE FUNCTION projector.fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF nextval('projector.fail_once_seq') = 1 THEN
				RAISE EXCEPTION 'could not serialize access' USING ERRCODE = '40001';
			END IF;
			RETURN NEW;
		END $$`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CREATE TRIGGER fail_once BEFORE INSERT ON projector.pending_batches FOR EACH ROW EXECUTE FUNCTION projector.fail_once()`); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Process(ctx, []projector.Record{widgetChange(t, "w1")}); err != nil {
		t.Fatal(err)
	}
	var attempts int64
	if err := pool.QueryRow(ctx, `SELECT last_value FROM projector.fail_once_seq`).Scan(&attempts); err != nil {
		t.Fatal(err)
	}
	if attempts != 2 {
		t.Fatalf("the state transaction ran %d times, want 2 (one retry)", attempts)
	}
	got, _ := metricValue(t, reg, "projector_changes_applied_total", map[string]string{"source": "widgets"})
	if got != 1 {
		t.Errorf("projector_changes_applied_total{source=widgets} = %v after one change applied once (its transaction retried once), want 1", got)
	}
}

// conflictSink refuses doc "w1" for a conflict, every time.
type conflictSink struct{ viewSink }

func (s *conflictSink) Name() string { return "conflicting" }
func (s *conflictSink) Write(ctx context.Context, docs []sinks.Doc) error {
	failed := map[int]error{}
	var ok []sinks.Doc
	for i, d := range docs {
		if d.ID == "w1" {
			failed[i] = sinks.Refused(fmt.Errorf("%w: unique value held by w0", sinks.ErrConflict))
			continue
		}
		ok = append(ok, d)
	}
	_ = s.viewSink.Write(ctx, ok)
	if len(failed) > 0 {
		return &sinks.BatchError{Failed: failed}
	}
	return nil
}

// levelCounter counts records at error level and keeps their messages.
type levelCounter struct {
	mu     sync.Mutex
	errors []string
}

func (h *levelCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *levelCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		h.mu.Lock()
		h.errors = append(h.errors, r.Message)
		h.mu.Unlock()
	}
	return nil
}
func (h *levelCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *levelCounter) WithGroup(string) slog.Handler      { return h }

// TestConflictRefusalCountedOnce: a doc a store refuses for a conflict
// is set aside once (one dead letter, Batch.Refused of its own batch) and
// then written again after every later batch, up to 50 of them. Only the
// refusal set aside counts in projector_docs_refused_total ("docs refused,
// set aside to the dead-letter topic") and logs an error; the retries
// refused again do neither.
func TestConflictRefusalCountedOnce(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	logs := &levelCounter{}
	eng := widgetEngine(t, pgURL, &conflictSink{viewSink: viewSink{docs: map[string]sinks.Doc{}}}, reg, slog.New(logs), 0)
	b, err := eng.Prepare(ctx, []projector.Record{widgetChange(t, "w1")})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Complete(ctx, b); err != nil {
		t.Fatal(err)
	}
	setAside := len(b.Refused)
	for i := range 5 {
		b, err := eng.Prepare(ctx, []projector.Record{widgetChange(t, fmt.Sprintf("x%d", i))})
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.Complete(ctx, b); err != nil {
			t.Fatal(err)
		}
		setAside += len(b.Refused)
	}
	got, _ := metricValue(t, reg, "projector_docs_refused_total", map[string]string{"sink": "conflicting", "view": "widget_view"})
	if float64(setAside) != got {
		t.Errorf("projector_docs_refused_total = %v, but %d refusal(s) were set aside (dead-lettered); one conflicting doc is counted once per later batch", got, setAside)
	}
	logs.mu.Lock()
	defer logs.mu.Unlock()
	if len(logs.errors) > setAside {
		t.Errorf("%d error-level logs for %d doc set aside: %q", len(logs.errors), setAside, logs.errors)
	}
}

// downRegistry is a schema registry that does not answer until up.
type downRegistry struct {
	mu   sync.Mutex
	up   bool
	text map[int]string
}

func (r *downRegistry) SchemaByID(_ context.Context, id int) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.up {
		return "", errors.New("dial tcp 10.0.0.9:8081: connect: connection refused")
	}
	return r.text[id], nil
}

// TestIgnoredCountedOnceAcrossRegistryOutage: the consumer decodes a
// batch again every backoff while the schema registry is down. The
// records it ignores (transaction markers, Kafka tombstones) before the
// record that needs the registry count in projector_records_ignored_total
// once the batch is decoded, not once per attempt.
func TestIgnoredCountedOnceAcrossRegistryOutage(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, `
version: 1
kafka: { brokers: "localhost:9092", group: g, schema_registry: { url: "http://127.0.0.1:1" } }
stores: { postgres: { url: "postgres://unused" } }
sources:
  widgets: { topic: cqrs.public.widgets, format: avro, key: id, columns: { id: text, name: text, active: boolean } }
views:
  widget_view:
    from: widgets
    fields: { id: id, title: name, active: active }
    sinks: { postgres: {} }
`, nil)
	reg := prometheus.NewRegistry()
	schemas := &downRegistry{text: map[int]string{7: avroWidgetValue, 8: avroWidgetKey}}
	eng, err := projector.New(projector.Options{Plan: plan, Pool: pool, Sinks: []projector.Route{{Sink: newViewSink(), Views: viewNames(plan)}},
		Schemas: schemas, Metrics: projector.NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}
	recs := []projector.Record{
		{Topic: "cqrs.public.widgets", Offset: 0, Control: true}, // a transaction's commit marker
		{Topic: "cqrs.public.widgets", Offset: 1, Key: avroFrame(t, 8, avroWidgetKey, map[string]any{"id": "w1"}), Value: avroFrame(t, 8, avroWidgetKey, map[string]any{"id": "w1"})},
	}
	for range 3 { // three retries while the registry is down
		if _, err := eng.Decode(context.Background(), recs); err == nil {
			t.Fatal("decoded without the registry")
		}
	}
	schemas.mu.Lock()
	schemas.up = true
	schemas.mu.Unlock()
	if _, err := eng.Decode(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	got, _ := metricValue(t, reg, "projector_records_ignored_total", map[string]string{"source": "widgets", "kind": "transaction_marker"})
	if got != 1 {
		t.Errorf("projector_records_ignored_total{kind=transaction_marker} = %v for one marker decoded once successfully (3 attempts failed on the registry), want 1", got)
	}
}
