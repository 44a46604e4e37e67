package projector_test

import (
	"context"
	"encoding/base64"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestR14kDeadLetterOfLargeKeyedTombstone: a source topic that takes
// records larger than Kafka's default (max.message.bytes raised, as CDC
// topics commonly are) carries a tombstone whose key cannot be decoded and
// is larger than what the dead-letter topic takes. It is a bad record: it
// must go to the dead-letter topic (without what does not fit) and the
// consumer must move on to the next record. omitValue leaves the key
// alone when the value is already null, so the dead letter is refused on
// every retry and the consumer stalls for good.
func TestR14kDeadLetterOfLargeKeyedTombstone(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	_, prefix := testenv.Redis(t)
	kc := newCluster(t, 1, "cqrs.public.widgets")
	big := "3000000"
	if _, err := kc.adm.AlterTopicConfigs(context.Background(), []kadm.AlterConfig{{Name: "max.message.bytes", Value: &big}}, "cqrs.public.widgets"); err != nil {
		t.Fatal(err)
	}
	cfg, plan := loadPlan(t, widgetsYAML, env("BROKERS", brokers(kc), "PG", pgURL, "REDIS", testenv.RedisURL(t), "PREFIX", prefix))
	m := startMember(t, cfg, plan, 100)

	prod, err := kgo.NewClient(kgo.SeedBrokers(kc.addrs...), kgo.ProducerBatchMaxBytes(3_000_000))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	noise := make([]byte, 900_000)
	_, _ = rand.NewChaCha8([32]byte{7}).Read(noise)
	key := []byte(base64.StdEncoding.EncodeToString(noise)) // 1.2 MB, not JSON
	if err := prod.ProduceSync(context.Background(), &kgo.Record{Topic: "cqrs.public.widgets", Key: key}).FirstErr(); err != nil {
		t.Fatalf("the source topic refused the record: %v", err)
	}
	kc.produce(t, widgetRecord("w3", sample(t, "postgres/create_schemaless.value.json", func(m map[string]any) {
		m["after"] = map[string]any{"id": "w3", "name": "after the big key", "active": true}
	})))
	if err := caughtUpWithin(t, kc, "widgets", 30*time.Second, m.done); err != nil {
		t.Fatalf("a tombstone with an undecodable %d-byte key stalls the consumer instead of going to the dead-letter topic: %v", len(key), err)
	}
	dl := readTopic(t, kc, "widgets.dlq", 1)
	if h := headers(dl[0]); h["projector.offset"] != "0" {
		t.Errorf("dead letter headers %v: want the original's offset 0", h)
	}
}

// TestR14kDeadLetterKeyOverSmallTopicLimit: a dead-letter topic whose
// max.message.bytes is below Kafka's default (TestDeadLetterTopicTakesLess
// shows the consumer is meant to cope) refuses a bad record whose key alone
// is over that limit. Without its value it is still refused: omitValue
// drops the key only past 450,000 bytes, whatever the topic takes, so the
// dead letter is refused on every retry and the records behind it are
// never projected.
func TestR14kDeadLetterKeyOverSmallTopicLimit(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	_, prefix := testenv.Redis(t)
	kc := newCluster(t, 1, "cqrs.public.widgets")
	cfg, plan := loadPlan(t, widgetsYAML, env("BROKERS", brokers(kc), "PG", pgURL, "REDIS", testenv.RedisURL(t), "PREFIX", prefix))
	small := "4000"
	if _, err := kc.adm.CreateTopic(context.Background(), 1, 1, map[string]*string{"max.message.bytes": &small}, "widgets.dlq"); err != nil {
		t.Fatal(err)
	}
	m := startMember(t, cfg, plan, 100)
	noise := make([]byte, 9_000)
	_, _ = rand.NewChaCha8([32]byte{3}).Read(noise)
	key := []byte(base64.StdEncoding.EncodeToString(noise)) // 12 kB, incompressible enough, not JSON
	kc.produce(t, &kgo.Record{Topic: "cqrs.public.widgets", Key: key, Value: []byte(`{"before":null,"after":{"id":"w2"`)},
		widgetRecord("w3", sample(t, "postgres/create_schemaless.value.json", func(m map[string]any) {
			m["after"] = map[string]any{"id": "w3", "name": "after the bad one", "active": true}
		})))
	if err := caughtUpWithin(t, kc, "widgets", 30*time.Second, m.done); err != nil {
		t.Fatalf("a bad record with a %d-byte key stalls the consumer instead of going to the dead-letter topic: %v", len(key), err)
	}
	dl := readTopic(t, kc, "widgets.dlq", 1)
	if h := headers(dl[0]); h["projector.offset"] != "0" {
		t.Errorf("dead letter headers %v: want the original's offset 0", h)
	}
}
