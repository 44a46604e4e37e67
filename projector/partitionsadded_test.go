package projector_test

import (
	"context"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// TestPartitionsAddedAreConsumed: a partition added to a topic while the
// member runs is assigned and consumed once the member's metadata is
// next refreshed (ConsumerOptions.MetadataMaxAge, a minute by default; a
// second here): its record reaches the view.
func TestPartitionsAddedAreConsumed(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	k := newOwnKafka(t, 2)
	_, plan := loadPlan(t, widgetsYAML, env("BROKERS", brokers(k.cluster), "PG", pgURL, "REDIS", "redis://unused", "PREFIX", ""))
	sink := newViewSink()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	eng := newEngine(t, pool, plan, sink, nil)
	startConsumer(t, ctx, eng, projector.ConsumerOptions{Brokers: k.addrs, Group: "padd", ClientID: "a", BatchSize: 10, MetadataMaxAge: time.Second})
	has := func(id string) func() bool {
		return func() bool { sink.mu.Lock(); defer sink.mu.Unlock(); _, ok := sink.docs["widget_view/"+id]; return ok }
	}
	k.widget(t, "w0", 0)
	waitCond(t, "w0", time.Minute, has("w0"))
	if _, err := k.adm.CreatePartitions(ctx, 2, "cqrs.public.widgets"); err != nil {
		t.Fatal(err)
	}
	k.prod.ForceMetadataRefresh()
	r := widgetRecord("w3", sample(t, "postgres/create_schemaless.value.json", func(m map[string]any) {
		m["after"] = map[string]any{"id": "w3", "name": "widget w3", "active": true}
	}))
	r.Partition = 3
	waitCond(t, "the producer to know partition 3", time.Minute, func() bool {
		return k.prod.ProduceSync(ctx, r).FirstErr() == nil
	})
	waitCond(t, "w3, in the partition added, to reach the view", time.Minute, has("w3"))
}
