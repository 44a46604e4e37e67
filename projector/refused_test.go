package projector_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/testenv"
)

// widgetAt is a create of widget id named name at source position lsn.
func widgetAt(t *testing.T, id, name string, lsn int) []byte {
	return sample(t, "postgres/create_schemaless.value.json", func(m map[string]any) {
		m["after"] = map[string]any{"id": id, "name": name, "active": true}
		m["source"].(map[string]any)["lsn"] = lsn
	})
}

// TestRefusedDocGoesToDeadLetters: a doc a store refuses as it is (here a
// CHECK constraint an operator put on the view table) is set aside to the
// dead-letter topic, with headers naming the sink, view, doc and reason,
// instead of being retried forever in front of every change behind it.
// The other stores take it, the store that refused it keeps its previous
// version, and a later change it takes is written as usual.
func TestRefusedDocGoesToDeadLetters(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	rdb, prefix := testenv.Redis(t)
	kc := newCluster(t, 1, "cqrs.public.widgets")
	cfg, plan := loadPlan(t, widgetsYAML, env("BROKERS", brokers(kc), "PG", pgURL, "REDIS", testenv.RedisURL(t), "PREFIX", prefix))
	m := startMember(t, cfg, plan, 100)
	kc.produce(t, widgetRecord("w1", widgetAt(t, "w1", "first", 100)))
	kc.waitCaughtUp(t, "widgets", m.done)
	if _, err := pool.Exec(context.Background(), `ALTER TABLE widget_view__g1 ADD CONSTRAINT no_forbidden CHECK (title <> 'forbidden')`); err != nil {
		t.Fatal(err)
	}

	kc.produce(t,
		widgetRecord("w1", widgetAt(t, "w1", "forbidden", 200)),
		widgetRecord("w2", widgetAt(t, "w2", "second", 300)),
	)
	kc.waitCaughtUp(t, "widgets", m.done)
	wantRows(t, pool, map[string]widget{"w1": {"first", true}, "w2": {"second", true}})
	wantKeys(t, rdb, prefix, map[string]widget{"w1": {"forbidden", true}, "w2": {"second", true}})
	dl := readTopic(t, kc, "widgets.dlq", 1)
	h := headers(dl[0])
	if h["projector.sink"] != "postgres" || h["projector.view"] != "widget_view" || h["projector.doc_id"] != "w1" ||
		!strings.Contains(h["projector.error"], "no_forbidden") || !strings.Contains(string(dl[0].Value), `"forbidden"`) {
		t.Errorf("dead letter %s with headers %v: want the doc, its sink, view, id and the constraint it broke", dl[0].Value, h)
	}

	kc.produce(t, widgetRecord("w1", widgetAt(t, "w1", "allowed", 400)))
	kc.waitCaughtUp(t, "widgets", m.done)
	wantRows(t, pool, map[string]widget{"w1": {"allowed", true}, "w2": {"second", true}})
	m.drain(t)
}

// TestRefusedDocToleranceNone: with errors.tolerance none a refused doc
// stops the consumer, naming the doc, and its batch is not committed.
func TestRefusedDocToleranceNone(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	_, prefix := testenv.Redis(t)
	kc := newCluster(t, 1, "cqrs.public.widgets")
	yaml := strings.Replace(widgetsYAML, "views:", "errors: { tolerance: none }\nviews:", 1)
	cfg, plan := loadPlan(t, yaml, env("BROKERS", brokers(kc), "PG", pgURL, "REDIS", testenv.RedisURL(t), "PREFIX", prefix))
	m := startMember(t, cfg, plan, 1)
	kc.produce(t, widgetRecord("w1", widgetAt(t, "w1", "first", 100)))
	kc.waitCaughtUp(t, "widgets", m.done)
	if _, err := pool.Exec(context.Background(), `ALTER TABLE widget_view__g1 ADD CONSTRAINT no_forbidden CHECK (title <> 'forbidden')`); err != nil {
		t.Fatal(err)
	}
	kc.produce(t, widgetRecord("w2", widgetAt(t, "w2", "forbidden", 200)))
	select {
	case err := <-m.done:
		if err == nil || !strings.Contains(err.Error(), `"w2"`) || !strings.Contains(err.Error(), "tolerance") {
			t.Fatalf("consumer stopped with %v; want the refused doc and the policy", err)
		}
		m.done <- nil // let cleanup's kill see a clean stop
	case <-time.After(60 * time.Second):
		t.Fatal("consumer did not stop on a refused doc")
	}
	committed, err := kc.adm.FetchOffsetsForTopics(context.Background(), "widgets", "cqrs.public.widgets")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := committed.Lookup("cqrs.public.widgets", 0); !ok || o.At != 1 {
		t.Errorf("committed offset %v: want 1, the refused doc's record not committed", o.At)
	}
}
