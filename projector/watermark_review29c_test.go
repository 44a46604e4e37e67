package projector_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// TestR29cTopicRecreatedWhileStoppedSameLength: README, read-your-writes:
// "A topic deleted and created again (while the daemons ran, or while they
// were stopped: checked when partitions are assigned) loses its
// watermarks, which would say its new records are in the stores before
// they are." checkWatermarks only forgets a watermark past the new
// partition's end. A topic created again while no member ran, holding as
// many records as the old one had when the daemon starts, keeps the old
// watermark (offset 3 = its end 3): the caught-up test (w.Offset >= end)
// tells readers that the new records are in the stores while none of them
// has been written.
func TestR29cTopicRecreatedWhileStoppedSameLength(t *testing.T) {
	const widgets = "cqrs.public.widgets"
	pool, pgURL := testenv.Postgres(t)
	k := newOwnKafka(t, 1)
	_, plan := loadPlan(t, widgetsYAML, env("BROKERS", brokers(k.cluster), "PG", pgURL, "REDIS", "redis://unused", "PREFIX", ""))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const group = "widgets"
	for i := range 3 {
		k.widget(t, fmt.Sprintf("old-%d", i), 0)
	}
	first := startConsumer(t, ctx, newEngine(t, pool, plan, newViewSink(), nil), projector.ConsumerOptions{
		Brokers: k.addrs, Group: group, ClientID: "a", BatchSize: 100})
	waitCond(t, "the old topic committed", time.Minute, func() bool { return k.committed(group, 0) == 3 })
	close(first.stop)
	if err := <-first.done; err != nil {
		t.Fatal(err)
	}
	first.done <- nil // for its cleanup

	if err := k.fake.DeleteTopic(widgets); err != nil {
		t.Fatal(err)
	}
	if err := k.fake.CreateTopic(widgets, 1, nil); err != nil {
		t.Fatal(err)
	}
	prod, err := kgo.NewClient(kgo.SeedBrokers(k.addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	for _, id := range []string{"new-1", "new-2", "new-3"} {
		r := widgetRecord(id, sample(t, "postgres/create_schemaless.value.json", func(m map[string]any) {
			m["after"] = map[string]any{"id": id, "name": "widget " + id, "active": true}
		}))
		if err := prod.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	// The second daemon's sink holds its first write: nothing of the new
	// topic is in the stores while we look. Partitions are assigned (and
	// their watermarks checked) before any record is consumed.
	held := newHeldSink()
	b := startConsumer(t, ctx, newEngine(t, pool, plan, held, nil), projector.ConsumerOptions{
		Brokers: k.addrs, Group: group, ClientID: "b", BatchSize: 100})
	select {
	case <-held.held:
	case err := <-b.done:
		t.Fatalf("b stopped: %v", err)
	}
	defer close(held.release)
	marks, err := projector.ReadWatermarks(ctx, pool, "", "widgets")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range marks {
		if w.Partition == 0 && w.Offset >= 3 {
			t.Errorf("watermark of partition 0 at offset %d (the old topic's) while none of the recreated topic's 3 records (end offset 3) is in the stores: read-your-writes takes the partition as caught up", w.Offset)
		}
	}
}
