package projector_test

import (
	"context"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// TestToleranceNoneSavesNoWatermark: with errors.tolerance none a refused
// doc stops the consumer and its record is not committed: the next member
// replays it. The watermark (every record before Offset is in every sink;
// readers wait on it for read-your-writes) must not move past that
// record either, or a reader is told a change is visible that the
// consumer stopped on.
func TestToleranceNoneSavesNoWatermark(t *testing.T) {
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
	err := <-m.done
	if err == nil || !strings.Contains(err.Error(), "tolerance") {
		t.Fatalf("consumer stopped with %v; want the refused doc and the policy", err)
	}
	m.done <- nil
	committed, err := kc.adm.FetchOffsetsForTopics(context.Background(), "widgets", "cqrs.public.widgets")
	if err != nil {
		t.Fatal(err)
	}
	o, _ := committed.Lookup("cqrs.public.widgets", 0)
	marks, err := projector.ReadWatermarks(context.Background(), pool, "", "widgets")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range marks {
		if w.Partition == 0 && w.Offset > o.At {
			t.Errorf("watermark of partition 0 is at offset %d, past the committed %d: the record the consumer stopped on (offset 1) counts as in every sink", w.Offset, o.At)
		}
	}
}
