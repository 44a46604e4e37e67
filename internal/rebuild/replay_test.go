package rebuild

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestRebuildFromKafka: the state lost rows and went back in time for
// another; a rebuild --from kafka replays the topic into the state, outside
// the consumer group, and the rebuilt view matches the source again.
func TestRebuildFromKafka(t *testing.T) {
	f, h := newKafkaHistory(t, 3)
	ctx := context.Background()

	// The history, in Kafka and applied by the daemon.
	for id := int64(1); id <= 60; id += 10 {
		batch := map[int64]*item{}
		for i := id; i < id+10; i++ {
			batch[i] = &item{Name: "item", Qty: i}
		}
		h.step(batch)
	}
	h.step(map[int64]*item{5: {Name: "renamed", Qty: 50}, 7: nil})
	h.publish()

	// The state loses 10 and 11, and 5 goes back to its first version.
	for _, q := range []string{
		`DELETE FROM projector.state_items WHERE key IN ('10', '11')`,
		`UPDATE projector.state_items SET data = '{"id": 5, "name": "item", "qty": 5}', pos_lo = 0, pos_hi = 1 WHERE key = '5'`,
	} {
		if _, err := f.pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}

	env := f.openEnv()
	start := time.Now()
	res, err := Run(ctx, env, Options{View: "item_view", From: "kafka", Keep: 0, ReplayIdle: 5 * time.Second})
	t.Logf("rebuild --from kafka took %s: %+v", time.Since(start), res)
	if err != nil {
		t.Fatalf("rebuild --from kafka: %v", err)
	}
	if res.Replayed != int64(len(h.all)) || res.DeadLetters != 0 {
		t.Errorf("replayed %d records (%d dead letters), want %d", res.Replayed, res.DeadLetters, len(h.all))
	}
	f.wantDocs(h.source)
}

// kafkaHistory is a daemon's history of item changes, applied by the daemon
// and kept to be appended, as Debezium would have, to a topic of an
// in-process Kafka the fixture reads.
type kafkaHistory struct {
	t        *testing.T
	d        *daemon
	producer *kgo.Client
	topic    string
	all      []*kgo.Record
	source   map[int64]*item // nil: deleted
}

func newKafkaHistory(t *testing.T, partitions int32) (*fixture, *kafkaHistory) {
	t.Helper()
	return newKafkaHistoryOn(t, itemsCluster(t, partitions))
}

// itemsCluster is an in-process Kafka with the items topic.
func itemsCluster(t *testing.T, partitions int32) *kfake.Cluster {
	t.Helper()
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, "shop.public.items"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	return kc
}

// newKafkaHistoryOn is a kafkaHistory of the items topic of kc.
func newKafkaHistoryOn(t *testing.T, kc *kfake.Cluster) (*fixture, *kafkaHistory) {
	t.Helper()
	const topic = "shop.public.items"
	producer, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(producer.Close)
	f := newFixtureWith(t, strings.Join(kc.ListenAddrs(), ","), "")
	return f, &kafkaHistory{t: t, d: f.startDaemon(), producer: producer, topic: topic, source: map[int64]*item{}}
}

// step applies changes through the daemon and keeps their records.
func (h *kafkaHistory) step(changes map[int64]*item) {
	h.t.Helper()
	recs := h.d.records(changes)
	if err := h.d.process(context.Background(), recs); err != nil {
		h.t.Fatal(err)
	}
	for _, r := range recs {
		h.all = append(h.all, &kgo.Record{Topic: h.topic, Key: r.Key, Value: r.Value})
	}
	for id, it := range changes {
		h.source[id] = it
	}
}

// publish appends every record kept to the topic.
func (h *kafkaHistory) publish() {
	h.t.Helper()
	if err := h.producer.ProduceSync(context.Background(), h.all...).FirstErr(); err != nil {
		h.t.Fatal(err)
	}
}
