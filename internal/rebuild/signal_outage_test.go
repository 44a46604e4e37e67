package rebuild

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/projectorhq/projector/internal/rebuild/registry"
)

// endsBeyondReach answers the listing of the view topic's end offsets that
// follows COMPLETED (the second one of a rebuild --from signal: the first
// takes the start offsets) with offsets no record reaches, as if records
// were written since, and then takes the cluster down (every fetch,
// metadata request and offset listing closes its connection) until lift.
type endsBeyondReach struct {
	listings atomic.Int32
	down     atomic.Bool
	lifted   atomic.Bool
}

func newEndsBeyondReach(kc *kfake.Cluster) *endsBeyondReach {
	e := &endsBeyondReach{}
	for _, key := range []kmsg.Key{kmsg.Fetch, kmsg.ListOffsets, kmsg.Metadata} {
		kc.ControlKey(key.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
			kc.KeepControl()
			return e.answer(req)
		})
	}
	return e
}

func (e *endsBeyondReach) lift() { e.lifted.Store(true) }

func (e *endsBeyondReach) answer(req kmsg.Request) (kmsg.Response, error, bool) {
	if e.lifted.Load() {
		return nil, nil, false
	}
	if e.down.Load() {
		return nil, errBrokerDown, true
	}
	list, ok := req.(*kmsg.ListOffsetsRequest)
	if !ok || !slices.ContainsFunc(list.Topics, func(t kmsg.ListOffsetsRequestTopic) bool { return t.Topic == "shop.public.items" }) ||
		e.listings.Add(1) != 2 {
		return nil, nil, false
	}
	e.down.Store(true)
	resp := list.ResponseKind().(*kmsg.ListOffsetsResponse)
	resp.Version = list.Version
	for _, rt := range list.Topics {
		t := kmsg.NewListOffsetsResponseTopic()
		t.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			p := kmsg.NewListOffsetsResponseTopicPartition()
			p.Partition, p.Offset, p.Timestamp = rp.Partition, 1<<40, -1
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp, nil, true
}

// TestSignalFailsWhenKafkaStopsAnswering: the brokers stop answering once
// the connector reported COMPLETED, while the replay still waits for the
// records up to the end offsets of that moment. The rebuild fails (rather
// than take the window for complete and delete the rows it did not see),
// keeps its signal, and --resume follows the same snapshot to its end
// once Kafka is back.
func TestSignalFailsWhenKafkaStopsAnswering(t *testing.T) {
	kc := signalCluster(t)
	f := newFixtureWith(t, strings.Join(kc.ListenAddrs(), ","), "")
	d := f.startDaemon()
	ctx := context.Background()
	source := f.seed(d, 1, 60)
	if _, err := f.pool.Exec(ctx, `DELETE FROM projector.state_items WHERE key IN ('10', '11')`); err != nil {
		t.Fatal(err)
	}
	conn := newFakeConnector(t, kc.ListenAddrs(), "shop", "public.items", &itemsTable{d: d, rows: maps.Clone(source), chunk: 40}, false)
	cut := newEndsBeyondReach(kc)
	env := f.openEnv()
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, err := Run(rctx, env, Options{View: "item_view", From: registry.SourceSignal, Keep: 0, ReplayIdle: time.Second})
	if !errors.Is(err, ErrKafkaUnreachable) {
		t.Fatalf("rebuild --from signal whose brokers went down: %v, want ErrKafkaUnreachable", err)
	}
	if got := f.readerTable(); got != "item_view__g1" {
		t.Errorf("readers see %s after the failed rebuild, want item_view__g1", got)
	}
	snap, err := env.Registry.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if g, ok := snap.Building("item_view"); !ok || len(g.Signal) == 0 {
		t.Errorf("generation being built after the failure: %+v (%v), want one with its signal", g, ok)
	}

	cut.lift()
	if _, err := Resume(rctx, env, Options{View: "item_view", Keep: 0, ReplayIdle: time.Second}); err != nil {
		t.Fatalf("resume once Kafka is back: %v", err)
	}
	if ids := conn.signals(); len(ids) != 1 {
		t.Errorf("signals sent: %q, want the one of the first run", ids)
	}
	f.wantDocs(source)
}
