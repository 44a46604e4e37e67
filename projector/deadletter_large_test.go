package projector_test

import (
	"context"
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/kafkautil"
	"github.com/projectorhq/projector/internal/testenv"
)

// TestDeadLetterLargeRecord: a malformed record just under what the source
// topic takes with Kafka's default max.message.bytes (1048588) goes to the
// dead-letter topic like any other bad record, without its value (with its
// headers the record would be over what the dead-letter topic takes, and
// refused on every retry): the headers say where the original is. The
// consumer moves on. (One that fits with its headers keeps its value: see
// TestR33gDeadLetterTopicTakingMoreKeepsValue.)
func TestDeadLetterLargeRecord(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	_, prefix := testenv.Redis(t)
	kc := newCluster(t, 1, "cqrs.public.widgets")
	cfg, plan := loadPlan(t, widgetsYAML, env("BROKERS", brokers(kc), "PG", pgURL, "REDIS", testenv.RedisURL(t), "PREFIX", prefix))
	m := startMember(t, cfg, plan, 100)

	big, err := kgo.NewClient(kgo.SeedBrokers(kc.addrs...), kgo.ProducerBatchMaxBytes(1048588))
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	bad := []byte(`{"before":null,"after":{"id":"w2","name":"` + strings.Repeat("x", 1_048_300)) // cut short
	if err := big.ProduceSync(context.Background(), widgetRecord("w2", bad)).FirstErr(); err != nil {
		t.Fatalf("the source topic refused the record: %v", err)
	}
	kc.produce(t, widgetRecord("w3", sample(t, "postgres/create_schemaless.value.json", func(m map[string]any) {
		m["after"] = map[string]any{"id": "w3", "name": "after the big one", "active": true}
	})))
	if err := caughtUpWithin(t, kc, "widgets", 20*time.Second, m.done); err != nil {
		t.Fatalf("a large malformed record stalls the consumer instead of going to the dead-letter topic: %v", err)
	}
	dl := readTopic(t, kc, "widgets.dlq", 1)
	h := headers(dl[0])
	if dl[0].Value != nil || h["projector.offset"] != "0" || !strings.HasPrefix(h["projector.value_omitted"], "1048") {
		t.Errorf("dead letter of %d bytes with headers %v: want no value, the original's offset and why", len(dl[0].Value), h)
	}
}

// caughtUpWithin reports whether group committed everything produced so
// far within d: a consumer that retries a doc a store refuses forever never
// does.
func caughtUpWithin(t *testing.T, kc *cluster, group string, d time.Duration, done <-chan error) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := make(chan error, 1)
	go func() { res <- kafkautil.WaitCaughtUp(ctx, kc.adm, group, d, kc.topics...) }()
	select {
	case err := <-res:
		return err
	case err := <-done:
		t.Fatalf("consumer stopped: %v", err)
		return nil
	}
}

// TestDeadLetterTopicTakesLess: a dead-letter topic whose
// max.message.bytes is below Kafka's default refuses a dead letter that
// fits the default; it is written again without its value, headers
// saying where the original is, and the consumer moves on.
func TestDeadLetterTopicTakesLess(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	_, prefix := testenv.Redis(t)
	kc := newCluster(t, 1, "cqrs.public.widgets")
	cfg, plan := loadPlan(t, widgetsYAML, env("BROKERS", brokers(kc), "PG", pgURL, "REDIS", testenv.RedisURL(t), "PREFIX", prefix))
	small := "4000"
	if _, err := kc.adm.CreateTopic(context.Background(), 1, 1, map[string]*string{"max.message.bytes": &small}, "widgets.dlq"); err != nil {
		t.Fatal(err)
	}
	m := startMember(t, cfg, plan, 100)
	noise := make([]byte, 15_000) // incompressible: the limit applies to the compressed batch
	_, _ = rand.NewChaCha8([32]byte{1}).Read(noise)
	bad := []byte(`{"before":null,"after":{"id":"w2","name":"` + base64.StdEncoding.EncodeToString(noise)) // cut short
	kc.produce(t, widgetRecord("w2", bad), widgetRecord("w3", sample(t, "postgres/create_schemaless.value.json", func(m map[string]any) {
		m["after"] = map[string]any{"id": "w3", "name": "after the big one", "active": true}
	})))
	kc.waitCaughtUp(t, "widgets", m.done)
	dl := readTopic(t, kc, "widgets.dlq", 1)
	h := headers(dl[0])
	if dl[0].Value != nil || h["projector.offset"] != "0" || !strings.HasPrefix(h["projector.value_omitted"], "200") {
		t.Errorf("dead letter of %d bytes with headers %v: want no value, the original's offset and why", len(dl[0].Value), h)
	}
	m.drain(t)
}
