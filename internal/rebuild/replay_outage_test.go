package rebuild

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/projectorhq/projector/internal/rebuild/registry"
)

// outage takes a kfake cluster down once it has answered a number of
// fetches: from then on every fetch, metadata request and offset listing
// fails (closes its connection, or is never answered), until lift.
// Counting fetches rather than time stops a replay at the same point on
// every run.
type outage struct {
	left   atomic.Int32 // fetches still answered
	down   atomic.Bool
	lifted atomic.Bool
}

var errBrokerDown = errors.New("the broker is down")

func newOutage(kc *kfake.Cluster, fetches int32, silent bool) *outage {
	o := &outage{}
	o.left.Store(fetches)
	for _, key := range []kmsg.Key{kmsg.Fetch, kmsg.ListOffsets, kmsg.Metadata} {
		kc.ControlKey(key.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
			kc.KeepControl()
			switch {
			case !o.refuses(req):
				return nil, nil, false // the cluster answers as usual
			case silent:
				return nil, nil, true // no answer: the client times out
			default:
				return nil, errBrokerDown, true
			}
		})
	}
	return o
}

func (o *outage) refuses(req kmsg.Request) bool {
	switch {
	case o.lifted.Load():
		return false
	case o.down.Load():
		return true
	case req.Key() == kmsg.Fetch.Int16() && o.left.Add(-1) < 0:
		o.down.Store(true)
		return true
	}
	return false
}

func (o *outage) lift() { o.lifted.Store(true) }

// TestReplayFailsWhenKafkaStopsAnswering: the brokers stop answering in
// the middle of a rebuild --from kafka. No record arrives for ReplayIdle,
// as at the end of a log, but the brokers do not answer a listing of the
// end offsets either: the rebuild fails (rather than fill and swap a view
// from a state replayed in part), readers stay on the served generation,
// and --resume replays again once Kafka is back. The brokers close their
// connections (down), or leave requests unanswered (unreachable).
func TestReplayFailsWhenKafkaStopsAnswering(t *testing.T) {
	for name, silent := range map[string]bool{"down": false, "unreachable": true} {
		t.Run(name, func(t *testing.T) { testReplayOutage(t, silent) })
	}
}

func testReplayOutage(t *testing.T, silent bool) {
	kc := itemsCluster(t, 3)
	f, h := newKafkaHistoryOn(t, kc)
	ctx := context.Background()
	for id := int64(1); id <= 60; id += 10 {
		batch := map[int64]*item{}
		for i := id; i < id+10; i++ {
			batch[i] = &item{Name: "item", Qty: i}
		}
		h.step(batch)
	}
	// One batch per record, and fetches of one batch: the replay needs
	// many fetches.
	for _, rec := range h.all {
		if err := h.producer.ProduceSync(ctx, rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	// The state lost 10 and 11: only a full replay brings them back.
	if _, err := f.pool.Exec(ctx, `DELETE FROM projector.state_items WHERE key IN ('10', '11')`); err != nil {
		t.Fatal(err)
	}

	out := newOutage(kc, 5, silent)
	env := f.openEnv()
	small := []kgo.Opt{kgo.FetchMaxBytes(1), kgo.FetchMaxPartitionBytes(1)}
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	res, err := Run(rctx, env, Options{View: "item_view", From: registry.SourceKafka, Keep: 0,
		ReplayIdle: time.Second, Kafka: small})
	t.Logf("rebuild during the outage: %+v: %v", res, err)
	if !errors.Is(err, ErrKafkaUnreachable) {
		t.Fatalf("rebuild --from kafka whose brokers went down: %v, want ErrKafkaUnreachable", err)
	}
	if res.Replayed == 0 || res.Replayed >= int64(len(h.all)) {
		t.Errorf("replayed %d of %d records before the outage, want some", res.Replayed, len(h.all))
	}
	if got := f.readerTable(); got != "item_view__g1" {
		t.Errorf("readers see %s after the failed rebuild, want item_view__g1", got)
	}
	snap, err := env.Registry.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if g, ok := snap.Building("item_view"); !ok || g.Number != 2 {
		t.Errorf("generation being built after the failure: %+v (%v), want 2", g, ok)
	}

	out.lift()
	res, err = Resume(rctx, env, Options{View: "item_view", Keep: 0, ReplayIdle: time.Second, Kafka: small})
	if err != nil {
		t.Fatalf("resume once Kafka is back: %v", err)
	}
	if res.Replayed != int64(len(h.all)) {
		t.Errorf("resume replayed %d records, want %d", res.Replayed, len(h.all))
	}
	if got := f.readerTable(); got != "item_view__g2" {
		t.Errorf("readers see %s after the resume, want item_view__g2", got)
	}
	f.wantDocs(h.source)
}

// TestReplayEndsAtTransactionMarkers: Debezium's Kafka Connect with
// exactly.once.support writes in transactions, so every partition of the
// topic ends in a commit marker, which is no record. The replay reads the
// markers as control records and ends at its end offsets at once: with
// ReplayIdle a minute, a replay that waited for it would outlive the
// deadline below.
func TestReplayEndsAtTransactionMarkers(t *testing.T) {
	kc := itemsCluster(t, 3)
	f, h := newKafkaHistoryOn(t, kc)
	ctx := context.Background()
	for id := int64(1); id <= 30; id += 10 {
		batch := map[int64]*item{}
		for i := id; i < id+10; i++ {
			batch[i] = &item{Name: "item", Qty: i}
		}
		h.step(batch)
	}
	h.step(map[int64]*item{5: {Name: "renamed", Qty: 50}, 7: nil})
	txn, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...), kgo.TransactionalID("items-connector"))
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Close()
	// Two transactions: the first ends in a marker mid-log, the second at
	// the end of every partition.
	for _, part := range [][]*kgo.Record{h.all[:15], h.all[15:]} {
		if err := txn.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := txn.ProduceSync(ctx, part...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := txn.EndTransaction(ctx, kgo.TryCommit); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.pool.Exec(ctx, `DELETE FROM projector.state_items WHERE key IN ('10', '11')`); err != nil {
		t.Fatal(err)
	}

	env := f.openEnv()
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second) // half of ReplayIdle
	defer cancel()
	res, err := Run(rctx, env, Options{View: "item_view", From: registry.SourceKafka, Keep: 0, ReplayIdle: time.Minute})
	if err != nil {
		t.Fatalf("rebuild --from kafka of a topic ending in transaction markers: %v", err)
	}
	if res.Replayed != int64(len(h.all)) || res.DeadLetters != 0 {
		t.Errorf("replayed %d records (%d dead letters), want %d: markers are no changes", res.Replayed, res.DeadLetters, len(h.all))
	}
	f.wantDocs(h.source)
}
