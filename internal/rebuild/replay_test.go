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
	const topic = "shop.public.items"
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	producer, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(producer.Close)
	f := newFixtureWith(t, strings.Join(kc.ListenAddrs(), ","), "")
	d := f.startDaemon()
	ctx := context.Background()

	// The history, in Kafka and applied by the daemon.
	source := map[int64]*item{}
	var all []*kgo.Record
	step := func(changes map[int64]*item) {
		recs := d.records(changes)
		if err := d.process(ctx, recs); err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			all = append(all, &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value})
		}
		for id, it := range changes {
			source[id] = it
		}
	}
	for id := int64(1); id <= 60; id += 10 {
		batch := map[int64]*item{}
		for i := id; i < id+10; i++ {
			batch[i] = &item{Name: "item", Qty: i}
		}
		step(batch)
	}
	step(map[int64]*item{5: {Name: "renamed", Qty: 50}, 7: nil})
	if err := producer.ProduceSync(ctx, all...).FirstErr(); err != nil {
		t.Fatal(err)
	}

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
	if res.Replayed != int64(len(all)) || res.DeadLetters != 0 {
		t.Errorf("replayed %d records (%d dead letters), want %d", res.Replayed, res.DeadLetters, len(all))
	}
	f.wantDocs(source)
}
