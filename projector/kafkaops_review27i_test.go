package projector_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
)

// r27iMember runs a member on the real stores as `projector run` does:
// no automatic topic creation, the given extra client options.
func r27iMember(t *testing.T, cfg *config.Config, plan *projections.Plan, logs *capturedLog, extra ...kgo.Opt) *member {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := stack.Wire(ctx, cfg, plan, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cons, err := projector.NewConsumer(st.Engine, projector.ConsumerOptions{
		Brokers: cfg.Kafka.Brokers, Group: cfg.Kafka.Group, ClientID: "r27i",
		BatchSize: 100, DeadLetterTopic: cfg.Kafka.DeadLetterTopic,
		StopOnError: cfg.Errors.Tolerance == "none",
		Extra:       extra,
		Logger:      slog.New(logs),
	})
	if err != nil {
		cancel()
		st.Close()
		t.Fatal(err)
	}
	m := &member{stack: st, cancel: cancel, stop: make(chan struct{}), done: make(chan error, 1)}
	go func() { m.done <- cons.Run(ctx, m.stop) }()
	t.Cleanup(func() { m.kill(t) })
	return m
}

// TestR27iDeadLetterTopicRecreatedAfterUse: the dead-letter topic already
// took a dead letter, then an operator deletes it (emptying a DLQ by
// deleting and recreating it is common). README: the dead-letter topic is
// "created when missing, at start and again when a dead letter finds it
// gone"; processing continues. The next dead letter must reach the new
// topic and the consumer must go on.
func TestR27iDeadLetterTopicRecreatedAfterUse(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	_, prefix := testenv.Redis(t)
	kc := newCluster(t, 1, "cqrs.public.widgets")
	cfg, plan := loadPlan(t, widgetsYAML, env("BROKERS", brokers(kc), "PG", pgURL, "REDIS", testenv.RedisURL(t), "PREFIX", prefix))
	logs := &capturedLog{}
	m := r27iMember(t, cfg, plan, logs)
	kc.produce(t, widgetRecord("w1", []byte(`not json 1`)))
	kc.waitCaughtUp(t, "widgets", m.done)
	readTopic(t, kc, "widgets.dlq", 1)

	resp, err := kc.adm.DeleteTopics(context.Background(), "widgets.dlq")
	if err != nil || resp.Error() != nil {
		t.Fatalf("delete the dead-letter topic: %v %v", err, resp.Error())
	}
	kc.produce(t,
		widgetRecord("w2", []byte(`not json 2`)),
		widgetRecord("w3", sample(t, "postgres/create_schemaless.value.json", func(m map[string]any) {
			m["after"] = map[string]any{"id": "w3", "name": "after the bad one", "active": true}
		})),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		offs, err := kc.adm.FetchOffsetsForTopics(ctx, "widgets", "cqrs.public.widgets")
		if err == nil {
			if o, ok := offs.Lookup("cqrs.public.widgets", 0); ok && o.At == 3 {
				break
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("the consumer is stuck after the dead-letter topic was deleted: records 1..2 never committed; log:\n%s", logs)
		}
		select {
		case err := <-m.done:
			t.Fatalf("consumer stopped: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	wantRows(t, pool, map[string]widget{"w3": {"after the bad one", true}})
	dl := readTopic(t, kc, "widgets.dlq", 1)
	if h := headers(dl[0]); h["projector.offset"] != "1" {
		t.Errorf("dead letter headers %v: want the record at offset 1", h)
	}
	m.drain(t)
}

// TestR27iTopicRecreatedWhileStoppedWatermark: a topic is deleted and
// created again while the daemon is stopped (maintenance, a connector
// reset). When the daemon comes back it consumes the new topic from its
// start (Kafka dropped the group's offsets with the old topic), but the
// partition's watermark must not stay at the old topic's offset: a
// watermark past the partition's end tells read-your-writes (README "answers
// once every partition ... is caught up") that records are in the stores
// before they are. consumeAgain forgets them when the daemon sees the
// re-creation while running; a restart must not hide it.
func TestR27iTopicRecreatedWhileStoppedWatermark(t *testing.T) {
	const widgets = "cqrs.public.widgets"
	pool, pgURL := testenv.Postgres(t)
	k := newOwnKafka(t, 1)
	_, plan := loadPlan(t, widgetsYAML, env("BROKERS", brokers(k.cluster), "PG", pgURL, "REDIS", "redis://unused", "PREFIX", ""))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const group = "widgets"
	for i := range 10 {
		k.widget(t, fmt.Sprintf("old-%d", i), 0)
	}
	first := startConsumer(t, ctx, newEngine(t, pool, plan, newViewSink(), nil), projector.ConsumerOptions{
		Brokers: k.addrs, Group: group, ClientID: "a", BatchSize: 100})
	waitCond(t, "the old topic committed", time.Minute, func() bool { return k.committed(group, 0) == 10 })
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
	sink := newViewSink()
	startConsumer(t, ctx, newEngine(t, pool, plan, sink, nil), projector.ConsumerOptions{
		Brokers: k.addrs, Group: group, ClientID: "b", BatchSize: 100})
	waitCond(t, "the new topic committed", time.Minute, func() bool { return k.committed(group, 0) == 3 })
	marks, err := projector.ReadWatermarks(ctx, pool, "", "widgets")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range marks {
		if w.Partition == 0 && w.Offset > 3 {
			t.Errorf("watermark of partition 0 at offset %d after the recreated topic's 3 records were projected (end offset 3): readers are told records 3..%d are in the sinks before they exist", w.Offset, w.Offset-1)
		}
	}
}
