package projector_test

import (
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestUniqueMoveAcrossBatchesConverges: a unique index on the view table
// (indexes: [{fields: [title], unique: true}]); w1 takes the title "beta"
// in one batch, and w2 gives it up only in the next. w1 is refused then
// (w2 still holds it) and goes to the dead-letter topic, but it is written
// again after the next batch: the view ends as the source rows, w1 = beta.
func TestUniqueMoveAcrossBatchesConverges(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	rdb, prefix := testenv.Redis(t)
	kc := newCluster(t, 1, "cqrs.public.widgets")
	yaml := strings.Replace(widgetsYAML, "postgres: { table: widget_view }", "postgres: { table: widget_view, indexes: [{ fields: [title], unique: true }] }", 1)
	cfg, plan := loadPlan(t, yaml, env("BROKERS", brokers(kc), "PG", pgURL, "REDIS", testenv.RedisURL(t), "PREFIX", prefix))
	m := startMember(t, cfg, plan, 1) // one record per batch
	kc.produce(t,
		widgetRecord("w1", widgetAt(t, "w1", "alpha", 100)),
		widgetRecord("w2", widgetAt(t, "w2", "beta", 200)),
	)
	kc.waitCaughtUp(t, "widgets", m.done)
	kc.produce(t,
		widgetRecord("w1", widgetAt(t, "w1", "beta", 300)),  // refused: w2 holds beta
		widgetRecord("w2", widgetAt(t, "w2", "gamma", 400)), // the next batch frees it
		widgetRecord("w3", widgetAt(t, "w3", "delta", 500)), // and one more batch after it
	)
	kc.waitCaughtUp(t, "widgets", m.done)
	want := map[string]widget{"w1": {"beta", true}, "w2": {"gamma", true}, "w3": {"delta", true}}
	wantRows(t, pool, want)
	wantKeys(t, rdb, prefix, want)
	if dl := readTopic(t, kc, "widgets.dlq", 1); headers(dl[0])["projector.doc_id"] != "w1" {
		t.Errorf("dead letter %v, want w1's refusal", headers(dl[0]))
	}
	m.drain(t)
}
