package projector_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"math/rand/v2"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestR33gDeadLetterTopicTakingMoreKeepsValue: CDC topics commonly take
// records over Kafka's 1 MB default (max.message.bytes raised), and the
// README tells the operator to create the dead-letter topic for "other
// settings". Here both take 5 MB, and a malformed record of 1.5 MB is
// dead-lettered without its value anyway: deadLetters drops every value
// over the fixed maxDeadLetterBytes (900,000) before producing, and the
// client's producer batch cap (franz-go's default, about 1 MB) is never
// raised, whatever the topic takes. The original bytes are then nowhere
// but in the source topic, which retention or compaction may empty before
// the operator looks.
//
// README, Dead letters: "A dead letter larger than the topic takes (about
// 1 MB by default) goes without its value"; the standard: malformed
// messages go to a dead-letter topic "and lose nothing". This dead letter
// is not larger than the topic takes: it must keep its value.
func TestR33gDeadLetterTopicTakingMoreKeepsValue(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	_, prefix := testenv.Redis(t)
	kc := newCluster(t, 1, "cqrs.public.widgets")
	big := "5000000"
	if _, err := kc.adm.AlterTopicConfigs(context.Background(), []kadm.AlterConfig{{Name: "max.message.bytes", Value: &big}}, "cqrs.public.widgets"); err != nil {
		t.Fatal(err)
	}
	if _, err := kc.adm.CreateTopic(context.Background(), 1, 1, map[string]*string{"max.message.bytes": &big}, "widgets.dlq"); err != nil {
		t.Fatal(err)
	}
	cfg, plan := loadPlan(t, widgetsYAML, env("BROKERS", brokers(kc), "PG", pgURL, "REDIS", testenv.RedisURL(t), "PREFIX", prefix))
	m := startMember(t, cfg, plan, 100)

	prod, err := kgo.NewClient(kgo.SeedBrokers(kc.addrs...), kgo.ProducerBatchMaxBytes(5_000_000))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	noise := make([]byte, 1_100_000)
	_, _ = rand.NewChaCha8([32]byte{9}).Read(noise)
	bad := []byte(`{"before":null,"after":{"id":"w2","name":"` + base64.StdEncoding.EncodeToString(noise)) // 1.5 MB, cut short
	if err := prod.ProduceSync(context.Background(), widgetRecord("w2", bad)).FirstErr(); err != nil {
		t.Fatalf("the source topic refused the record: %v", err)
	}
	kc.waitCaughtUp(t, "widgets", m.done)
	dl := readTopic(t, kc, "widgets.dlq", 1)
	h := headers(dl[0])
	if !bytes.Equal(dl[0].Value, bad) {
		t.Errorf("dead letter value of %d bytes (headers %.300v): want the original's %d bytes, which the dead-letter topic takes", len(dl[0].Value), h, len(bad))
	}
	m.drain(t)
}
