package projector_test

import (
	"context"
	"encoding/base64"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestR33gDeadLetterWithLongReasonOverSmallTopicLimit: a dead-letter topic
// created by the operator with a max.message.bytes below Kafka's default
// (README: "create it yourself for other settings";
// TestDeadLetterTopicTakesLess runs with 4000) and a malformed record whose
// reason is long: the decoder quotes the record's own text in its error
// (`payload.op: unknown op "…"`, unbounded), and errorHeader keeps up to
// 8 KiB of it. shrink drops the value, then the key, then finds no original
// headers to drop and gives up (deadletter.go produceOmittingTooLarge
// returns MESSAGE_TOO_LARGE); Consumer.finish retries "write dead letters"
// for ever, so the consumer stalls on one bad record and the good record
// behind it is never projected.
//
// README, Dead letters: "A dead letter larger than the topic takes … goes
// without its value, …; if that is not enough, without its key
// (`projector.key_omitted`), then without the original record's headers
// (`projector.headers_omitted`); projector's own headers say where the
// original is." And the standard: no retry-forever on bad data. The reason
// itself should be cut further (it is the one part the shrinking never
// touches).
func TestR33gDeadLetterWithLongReasonOverSmallTopicLimit(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	_, prefix := testenv.Redis(t)
	kc := newCluster(t, 1, "cqrs.public.widgets")
	cfg, plan := loadPlan(t, widgetsYAML, env("BROKERS", brokers(kc), "PG", pgURL, "REDIS", testenv.RedisURL(t), "PREFIX", prefix))
	small := "4000"
	if _, err := kc.adm.CreateTopic(context.Background(), 1, 1, map[string]*string{"max.message.bytes": &small}, "widgets.dlq"); err != nil {
		t.Fatal(err)
	}
	m := startMember(t, cfg, plan, 100)

	noise := make([]byte, 9_000) // incompressible: the limit applies to the compressed batch
	_, _ = rand.NewChaCha8([32]byte{33}).Read(noise)
	op := base64.StdEncoding.EncodeToString(noise) // 12 kB, quoted whole in the decoder's error
	bad := sample(t, "postgres/create_schemaless.value.json", func(m map[string]any) {
		m["after"] = map[string]any{"id": "w2", "name": "bad op", "active": true}
		m["op"] = op
	})
	kc.produce(t, widgetRecord("w2", bad), widgetRecord("w3", sample(t, "postgres/create_schemaless.value.json", func(m map[string]any) {
		m["after"] = map[string]any{"id": "w3", "name": "after the bad one", "active": true}
	})))
	if err := caughtUpWithin(t, kc, "widgets", 30*time.Second, m.done); err != nil {
		t.Fatalf("a malformed record whose reason is %d bytes long stalls the consumer instead of going to a dead-letter topic taking %s bytes: %v", len(op), small, err)
	}
	wantRows(t, pool, map[string]widget{"w3": {"after the bad one", true}})
	dl := readTopic(t, kc, "widgets.dlq", 1)
	if h := headers(dl[0]); h["projector.offset"] != "0" || h["projector.topic"] != "cqrs.public.widgets" {
		t.Errorf("dead letter headers %.300v: want the original's topic and offset 0", h)
	}
	m.drain(t)
}
