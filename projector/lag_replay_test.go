package projector_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// gateSink writes to a viewSink, but holds the first write once held is
// armed (until released) and fails every other write while down is set.
type gateSink struct {
	viewSink
	down     atomic.Bool
	failures atomic.Int64

	mu      sync.Mutex
	arm     chan struct{} // closed when the held write arrives; nil while not armed
	release chan struct{}
}

func newGateSink() *gateSink { return &gateSink{viewSink: viewSink{docs: map[string]sinks.Doc{}}} }

func (s *gateSink) Name() string { return "gate" }

// holdNext makes the next write wait for release; held is closed once it
// arrives.
func (s *gateSink) holdNext() (held, release chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.arm, s.release = make(chan struct{}), make(chan struct{})
	return s.arm, s.release
}

func (s *gateSink) Write(ctx context.Context, docs []sinks.Doc) error {
	s.mu.Lock()
	held, release := s.arm, s.release
	s.arm = nil
	s.mu.Unlock()
	if held != nil {
		close(held)
		select {
		case <-release:
			return s.viewSink.Write(ctx, docs)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if s.down.Load() {
		s.failures.Add(1)
		return errors.New("connection refused")
	}
	return s.viewSink.Write(ctx, docs)
}

// loseRecordsAt answers the consumer's next fetch of partition 0 from
// offset with OFFSET_OUT_OF_RANGE, as a broker that lost records (an
// unclean leader election) does once producers wrote past them again:
// the client resets the partition to its start (ConsumeResetOffset) and
// replays it.
func (k *ownKafka) loseRecordsAt(offset int64) {
	k.fake.ControlKey(int16(kmsg.Fetch), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		req := kreq.(*kmsg.FetchRequest)
		hit := false
		resp := req.ResponseKind().(*kmsg.FetchResponse)
		resp.Version = req.Version
		for _, rt := range req.Topics {
			st := kmsg.NewFetchResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewFetchResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = -1, -1, -1
				if rp.Partition == 0 && rp.FetchOffset == offset {
					hit = true
					sp.ErrorCode = kerr.OffsetOutOfRange.Code
				}
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		// Other fetches the cluster answers, and the control stays for
		// the one from offset, which drops it.
		return resp, nil, hit
	})
}

// replayWidgets runs a consumer of the widgets with a gateSink, caught up
// on n records.
func replayWidgets(t *testing.T, group string, n int) (*ownKafka, *prometheus.Registry, *gateSink) {
	t.Helper()
	_, pgURL := testenv.Postgres(t)
	k := newOwnKafka(t, 1)
	for i := range n {
		k.widget(t, fmt.Sprintf("w%d", i), 0)
	}
	sink := newGateSink()
	reg := prometheus.NewRegistry()
	eng := widgetEngine(t, pgURL, sink, reg, nil, 50*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	startConsumer(t, ctx, eng, projector.ConsumerOptions{Brokers: k.addrs, Group: group, ClientID: group,
		BatchSize: 10, LagRefresh: 50 * time.Millisecond,
		// Every fetch names its partitions, so that loseRecordsAt sees the
		// offset it is from, and a caught-up consumer fetches again soon.
		Extra: []kgo.Opt{kgo.DisableFetchSessions(), kgo.FetchMaxWait(100 * time.Millisecond)}})
	t.Cleanup(cancel) // first: a hard stop, which waits for no stalled batch
	waitCond(t, "caught up", time.Minute, func() bool {
		v, ok := metricValue(t, reg, "projector_consumer_lag", replayLag)
		return ok && v == 0 && k.committed(group, 0) == int64(n)
	})
	return k, reg, sink
}

var replayLag = map[string]string{"topic": "cqrs.public.widgets", "partition": "0"}

// TestConsumerLagWhileReplaying: once the consumer's position is reset
// to the partition's start (a broker lost records), it consumes the
// partition again, and projector_consumer_lag ("records from this
// member's committed offset to the partition's end") counts the records
// it has yet to project again, not the 0 of the position it had before.
func TestConsumerLagWhileReplaying(t *testing.T) {
	k, reg, sink := replayWidgets(t, "lagreplay", 100)
	sink.down.Store(true) // the replay stalls on its first batch
	k.loseRecordsAt(100)
	waitCond(t, "the replay written", time.Minute, func() bool { return sink.failures.Load() >= 3 })
	if v, _ := metricValue(t, reg, "projector_consumer_lag", replayLag); v != 100 {
		t.Errorf("projector_consumer_lag = %v while the consumer replays the partition from 0 to 100 and has committed none of it", v)
	}

	sink.down.Store(false)
	waitCond(t, "the replay committed", time.Minute, func() bool {
		v, _ := metricValue(t, reg, "projector_consumer_lag", replayLag)
		return v == 0 && k.committed("lagreplay", 0) == 100
	})
}

// TestConsumerLagWhileReplayingPastBatchesInFlight: the batch polled
// before the consumer's position was reset is committed after the reset;
// its offset is not where the replay is.
func TestConsumerLagWhileReplayingPastBatchesInFlight(t *testing.T) {
	k, reg, sink := replayWidgets(t, "lagreplayinflight", 100)
	held, release := sink.holdNext()
	var recs []*kgo.Record
	for i := range 10 {
		r := widgetChange(t, fmt.Sprintf("x%d", i))
		recs = append(recs, &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value})
	}
	// Flushed at once, the records make one fetch, and so one batch.
	prod, err := kgo.NewClient(kgo.SeedBrokers(k.addrs...), kgo.ManualFlushing())
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	for _, r := range recs {
		prod.Produce(context.Background(), r, nil)
	}
	// The client holds the records until it knows the topic's partitions,
	// and it makes the partition known only once all of them are in its
	// buffer: flushed before, they could go in several requests, cut
	// wherever the metadata answer lands, and the consumer would poll
	// them as several batches.
	waitCond(t, "the producer knows the partition", time.Minute, func() bool {
		leader, _, _ := prod.PartitionLeader(recs[0].Topic, 0)
		return leader >= 0
	})
	if err := prod.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-held // records 100 to 109 are being written
	k.loseRecordsAt(110)
	waitCond(t, "the replay fetched", time.Minute, func() bool {
		v, _ := metricValue(t, reg, "projector_consumer_lag", replayLag)
		return v == 110
	})

	sink.down.Store(true) // the replay stalls on its first batch
	close(release)
	waitCond(t, "the batch polled before the reset committed", time.Minute, func() bool {
		return k.committed("lagreplayinflight", 0) == 110 && sink.failures.Load() >= 3
	})
	if v, _ := metricValue(t, reg, "projector_consumer_lag", replayLag); v != 110 {
		t.Errorf("projector_consumer_lag = %v while the consumer replays the partition from 0 to 110 and has committed none of the replay", v)
	}
}
