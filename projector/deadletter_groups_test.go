package projector_test

import (
	"context"
	"encoding/base64"
	"math/rand/v2"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestDeadLettersOfABatchKeepTheirValues: a batch's dead letters together
// over what the dead-letter topic takes (Kafka's 1 MB default), each well
// under it, are written whole: they go in groups the topic takes, not in
// one produce batch it would refuse whole, which would leave their values
// out.
func TestDeadLettersOfABatchKeepTheirValues(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	_, prefix := testenv.Redis(t)
	kc := newCluster(t, 1, "cqrs.public.widgets")
	limit := "1048588" // Kafka's default, said as an operator's topic would
	if _, err := kc.adm.CreateTopic(context.Background(), 1, 1, map[string]*string{"max.message.bytes": &limit}, "widgets.dlq"); err != nil {
		t.Fatal(err)
	}
	cfg, plan := loadPlan(t, widgetsYAML, env("BROKERS", brokers(kc), "PG", pgURL, "REDIS", testenv.RedisURL(t), "PREFIX", prefix))
	const n = 24 // of 100 kB: 2.4 MB in all
	var recs []*kgo.Record
	noise := make([]byte, 75_000)
	rnd := rand.NewChaCha8([32]byte{7})
	for i := range n {
		_, _ = rnd.Read(noise)                                                                      // incompressible: the batch is as large as its records
		bad := []byte(`{"before":null,"after":{"id":"w` + base64.StdEncoding.EncodeToString(noise)) // cut short
		recs = append(recs, widgetRecord("w"+string(rune('a'+i)), bad))
	}
	kc.produce(t, recs...)
	m := startMember(t, cfg, plan, 100)
	kc.waitCaughtUp(t, "widgets", m.done)
	dl := readTopic(t, kc, "widgets.dlq", n)
	for i, r := range dl {
		if len(r.Value) < 100_000 {
			t.Errorf("dead letter %d: %d bytes of value (headers %v), want the original's", i, len(r.Value), headers(r))
		}
	}
	m.drain(t)
}
