package projector_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// generationSink is one generation of the store "store": it keeps the docs
// it takes and refuses, as they are, those whose id it lists.
type generationSink struct {
	viewSink
	refuses []string
}

func (s *generationSink) Name() string { return "store" }
func (s *generationSink) Write(ctx context.Context, docs []sinks.Doc) error {
	failed := map[int]error{}
	var ok []sinks.Doc
	for i, d := range docs {
		if slices.Contains(s.refuses, d.ID) {
			failed[i] = sinks.Refused(errors.New("document id is too long"))
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

// TestRefusedAndWrittenDocsCountedOncePerStore: while a rebuild runs, the
// engine writes each doc of the view to the served generation and to the
// next one, two routes of one store. A doc both generations refuse is one
// doc set aside (counted in projector_docs_refused_total, logged at error
// and handed on to be dead-lettered once), and so is one only the next
// generation refuses; a doc both take is one doc written to the store
// (projector_docs_written_total), though each generation holds it.
func TestRefusedAndWrittenDocsCountedOncePerStore(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	logs := &levelCounter{}
	served := &generationSink{viewSink: viewSink{docs: map[string]sinks.Doc{}}, refuses: []string{"w1"}}
	next := &generationSink{viewSink: viewSink{docs: map[string]sinks.Doc{}}, refuses: []string{"w1", "w2"}}
	eng := widgetEngine(t, pgURL, served, reg, slog.New(logs), 0)
	eng.SetRoutes([]projector.Route{{Sink: served, Views: []string{"widget_view"}}, {Sink: next, Views: []string{"widget_view"}}})

	b, err := eng.Prepare(ctx, []projector.Record{widgetChange(t, "w1"), widgetChange(t, "w2"), widgetChange(t, "w3")})
	if err != nil {
		t.Fatal(err)
	}
	var handedOn []string
	handOn := func(_ context.Context, refused []projector.Refusal) error {
		for _, r := range refused {
			handedOn = append(handedOn, r.Sink+"/"+r.Doc.ID)
		}
		return nil
	}
	if err := eng.CompleteUnless(ctx, b, handOn, nil); err != nil {
		t.Fatal(err)
	}

	slices.Sort(handedOn)
	if want := []string{"store/w1", "store/w2"}; !slices.Equal(handedOn, want) {
		t.Errorf("refusals handed on to the dead-letter topic: %q, want %q (w1 refused by both generations, w2 by the next one)", handedOn, want)
	}
	if len(b.Refused) != 2 {
		t.Errorf("the batch keeps %d refusals, want 2", len(b.Refused))
	}
	if got, _ := metricValue(t, reg, "projector_docs_refused_total", map[string]string{"sink": "store", "view": "widget_view"}); got != 2 {
		t.Errorf("projector_docs_refused_total{sink=store} = %v, want 2: one per doc set aside", got)
	}
	logs.mu.Lock()
	if len(logs.errors) != 2 {
		t.Errorf("%d error-level logs for 2 docs set aside: %q", len(logs.errors), logs.errors)
	}
	logs.mu.Unlock()
	// w2 is in the served generation only, w3 in both: two docs the store took.
	if got, _ := metricValue(t, reg, "projector_docs_written_total", map[string]string{"sink": "store"}); got != 2 {
		t.Errorf("projector_docs_written_total{sink=store} = %v, want 2: w2 and w3, each once", got)
	}
	if len(served.docs) != 2 || len(next.docs) != 1 {
		t.Errorf("served generation holds %d docs, next %d: want 2 and 1", len(served.docs), len(next.docs))
	}
}

// secondGeneration is another target of the same store, as a rebuild
// adds one beside the served generation; here the very same table.
type secondGeneration struct{ projector.Sink }

// TestDocRefusedByBothGenerationsDeadLetteredOnce: a doc PostgreSQL
// refuses (a CHECK constraint on the view table) while the consumer writes
// to two generations of the view goes to the dead-letter topic once.
func TestDocRefusedByBothGenerationsDeadLetteredOnce(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	_, prefix := testenv.Redis(t)
	kc := newCluster(t, 1, "cqrs.public.widgets")
	cfg, plan := loadPlan(t, widgetsYAML, env("BROKERS", brokers(kc), "PG", pgURL, "REDIS", testenv.RedisURL(t), "PREFIX", prefix))
	m := startMember(t, cfg, plan, 100)
	kc.produce(t, widgetRecord("w1", widgetAt(t, "w1", "first", 100)))
	kc.waitCaughtUp(t, "widgets", m.done)
	if _, err := pool.Exec(context.Background(), `ALTER TABLE widget_view__g1 ADD CONSTRAINT no_forbidden CHECK (title <> 'forbidden')`); err != nil {
		t.Fatal(err)
	}
	eng := m.stack.Engine
	routes := slices.Clone(eng.Routes())
	for _, r := range eng.Routes() {
		if r.Sink.Name() == "postgres" {
			routes = append(routes, projector.Route{Sink: secondGeneration{r.Sink}, Views: r.Views})
		}
	}
	eng.SetRoutes(routes)

	kc.produce(t,
		widgetRecord("w1", widgetAt(t, "w1", "forbidden", 200)),
		widgetRecord("w2", widgetAt(t, "w2", "second", 300)),
	)
	kc.waitCaughtUp(t, "widgets", m.done)
	readTopic(t, kc, "widgets.dlq", 1)
	ends, err := kc.adm.ListEndOffsets(context.Background(), "widgets.dlq")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := ends.Lookup("widgets.dlq", 0); o.Offset != 1 {
		t.Errorf("the dead-letter topic holds %d records for one doc refused by both generations, want 1", o.Offset)
	}
	if got, _ := metricValue(t, m.stack.Registry, "projector_docs_refused_total", map[string]string{"sink": "postgres", "view": "widget_view"}); got != 1 {
		t.Errorf("projector_docs_refused_total{sink=postgres} = %v, want 1", got)
	}
	m.drain(t)
}
