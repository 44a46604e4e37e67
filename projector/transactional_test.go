package projector_test

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// TestTransactionalTopic: Kafka Connect with exactly-once source support
// writes each transaction's records, then a commit marker (a control
// record). The markers change nothing and are no dead letters, but the
// group commits past them and the watermark reaches the topic's end:
// without that, a partition ending in a marker never looks caught up, and
// a read-your-writes wait on it would time out.
func TestTransactionalTopic(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	rdb, prefix := testenv.Redis(t)
	kc := newCluster(t, 1, "cqrs.public.widgets")
	cfg, plan := loadPlan(t, widgetsYAML, env("BROKERS", brokers(kc), "PG", pgURL, "REDIS", testenv.RedisURL(t), "PREFIX", prefix))
	txn, err := kgo.NewClient(kgo.SeedBrokers(kc.addrs...), kgo.TransactionalID("connect-widgets"))
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Close()
	ctx := context.Background()
	for _, recs := range [][]*kgo.Record{
		{widgetRecord("w1", sample(t, "postgres/create_schemaless.value.json", nil))},
		{widgetRecord("w1", sample(t, "postgres/update_default_identity_schemaless.value.json", nil))},
	} {
		if err := txn.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := txn.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := txn.EndTransaction(ctx, kgo.TryCommit); err != nil {
			t.Fatal(err)
		}
	}
	ends, err := kc.adm.ListEndOffsets(ctx, "cqrs.public.widgets")
	if err != nil {
		t.Fatal(err)
	}
	end, _ := ends.Lookup("cqrs.public.widgets", 0)
	if end.Offset != 4 {
		t.Fatalf("end offset %d, want 4: two records, each with its commit marker", end.Offset)
	}

	m := startMember(t, cfg, plan, 100)
	kc.waitCaughtUp(t, "widgets", m.done)
	wantRows(t, pool, map[string]widget{"w1": {"gadget2", false}})
	wantKeys(t, rdb, prefix, map[string]widget{"w1": {"gadget2", false}})
	marks, err := projector.ReadWatermarks(ctx, pool, "", "widgets")
	if err != nil || len(marks) != 1 || marks[0].Offset != end.Offset {
		t.Fatalf("watermarks %+v (%v), want partition 0 at the end offset %d", marks, err, end.Offset)
	}
	m.drain(t)
}
