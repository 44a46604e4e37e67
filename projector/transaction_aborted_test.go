package projector_test

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestAbortedTransactionNotProjected: "projector reads
// committed records only" for Kafka Connect's transactional (exactly-once)
// writes. A transaction Connect aborts must change nothing.
func TestAbortedTransactionNotProjected(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	rdb, prefix := testenv.Redis(t)
	kc := newCluster(t, 1, "cqrs.public.widgets")
	cfg, plan := loadPlan(t, widgetsYAML, env("BROKERS", brokers(kc), "PG", pgURL, "REDIS", testenv.RedisURL(t), "PREFIX", prefix))
	txn, err := kgo.NewClient(kgo.SeedBrokers(kc.addrs...), kgo.TransactionalID("connect-widgets-abort"))
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Close()
	ctx := context.Background()
	aborted := sample(t, "postgres/create_schemaless.value.json", func(m map[string]any) {
		m["after"] = map[string]any{"id": "w9", "name": "aborted", "active": true}
	})
	for _, step := range []struct {
		recs   []*kgo.Record
		commit kgo.TransactionEndTry
	}{
		{[]*kgo.Record{widgetRecord("w9", aborted)}, kgo.TryAbort},
		{[]*kgo.Record{widgetRecord("w1", sample(t, "postgres/create_schemaless.value.json", nil))}, kgo.TryCommit},
	} {
		if err := txn.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := txn.ProduceSync(ctx, step.recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := txn.EndTransaction(ctx, step.commit); err != nil {
			t.Fatal(err)
		}
	}
	m := startMember(t, cfg, plan, 100)
	kc.waitCaughtUp(t, "widgets", m.done)
	wantRows(t, pool, map[string]widget{"w1": {"gadget", true}})
	wantKeys(t, rdb, prefix, map[string]widget{"w1": {"gadget", true}})
	m.drain(t)
}
