package rebuild

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/rebuild/registry"
)

// openTransaction leaves a transaction open on partition p of the items
// topic (a producer that died mid-transaction: the broker aborts it only
// after transaction.timeout.ms, up to 15 minutes).
func openTransaction(t *testing.T, addrs []string, id string, p int32, rec *kgo.Record) {
	t.Helper()
	txn, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.TransactionalID(id),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(txn.Close)
	if err := txn.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	rec.Partition = p
	if err := txn.ProduceSync(context.Background(), rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// TestSignalOpenTransactionKeepsRows: a transaction is open on partition
// 2 of the view's topic when the rebuild --from signal starts, and stays
// open: the connector's snapshot rows of partition 2 are behind it, where
// a read-committed reader cannot get. The window's end is the high
// watermark, which the replay does not reach; it ends idle, short of it,
// and then deletes no row as unread: every doc is still there.
func TestSignalOpenTransactionKeepsRows(t *testing.T) {
	kc := signalCluster(t)
	f := newFixtureWith(t, strings.Join(kc.ListenAddrs(), ","), "")
	d := f.startDaemon()
	source := f.seed(d, 1, 60)
	openTransaction(t, kc.ListenAddrs(), "zombie-producer", 2, itemRecord(2, readEnvelope(2, source[2], 1000)))

	table := &itemsTable{d: d, rows: maps.Clone(source), chunk: 40}
	newFakeConnector(t, kc.ListenAddrs(), "shop", "public.items", table, false)
	env := f.openEnv()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := Run(ctx, env, Options{View: "item_view", From: registry.SourceSignal, Keep: 0, ReplayIdle: 2 * time.Second})
	if err != nil {
		t.Fatalf("rebuild --from signal: %v", err)
	}
	if res.SourceDeleted != 0 {
		t.Errorf("rebuild --from signal deleted %d state rows; the source deleted none (its rows on partition 2 were behind an open transaction)", res.SourceDeleted)
	}
	f.wantDocs(source)
}
