package projector_test

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// r38cMessages counts log records by message.
type r38cMessages struct {
	mu sync.Mutex
	n  map[string]int
}

func (h *r38cMessages) Enabled(context.Context, slog.Level) bool { return true }
func (h *r38cMessages) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n[r.Message]++
	return nil
}
func (h *r38cMessages) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *r38cMessages) WithGroup(string) slog.Handler      { return h }
func (h *r38cMessages) count(msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[msg]
}

// TestR38cPersistentFetchErrorNotLoggedEverySecond: a fetch error the
// client does not retry on its own (TOPIC_AUTHORIZATION_FAILED: the
// consumer's Read ACL on the topic was removed while it runs) comes back
// with every poll, for as long as it lasts. The consumer logs it at warn
// on every poll, every second or two per partition (consume: "fetch
// error", then a one-second pause): an ACL change over a 12-partition
// topic writes over half a million warnings a day, where the Kafka client's own
// repeated warnings are logged once every 10 minutes (kafkaLogger) and a
// broker down once (kafkautil.Health).
func TestR38cPersistentFetchErrorNotLoggedEverySecond(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	k := newOwnKafka(t, 2)
	var denied atomic.Bool
	k.fake.ControlKey(int16(kmsg.Fetch), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		k.fake.KeepControl()
		if !denied.Load() {
			return nil, nil, false
		}
		req := kreq.(*kmsg.FetchRequest)
		resp := req.ResponseKind().(*kmsg.FetchResponse)
		resp.Version = req.Version
		resp.SessionID = 0
		for _, rt := range req.Topics {
			st := kmsg.NewFetchResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewFetchResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.TopicAuthorizationFailed.Code
				sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = -1, -1, -1
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	logs := &r38cMessages{n: map[string]int{}}
	reg := prometheus.NewRegistry()
	eng := widgetEngine(t, pgURL, newViewSink(), reg, slog.New(logs), 50*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	startConsumer(t, ctx, eng, projector.ConsumerOptions{Brokers: k.addrs, Group: "r38c-fetch", ClientID: "r38c", Logger: slog.New(logs)})
	k.widget(t, "w0", 0)
	k.widget(t, "w1", 1)
	waitCond(t, "both partitions consumed", 30*time.Second, func() bool {
		return k.committed("r38c-fetch", 0) == 1 && k.committed("r38c-fetch", 1) == 1
	})

	denied.Store(true) // the ACL is removed
	start := time.Now()
	waitCond(t, "the first fetch error", 30*time.Second, func() bool { return logs.count("fetch error") > 0 })
	// Seconds of the same error, which does not change: logged once per
	// partition (or once again with how often it repeated) would do.
	deadline := start.Add(12 * time.Second)
	waitCond(t, "12s of refused fetches", 15*time.Second, func() bool { return time.Now().After(deadline) })
	if n := logs.count("fetch error"); n > 4 {
		t.Errorf("the same fetch error (TOPIC_AUTHORIZATION_FAILED on 2 partitions) logged %d times at warn in %s", n, time.Since(start).Round(time.Second))
	}
}

// TestR38cLagGrowsWhileFetchesFail: README (Operations):
// projector_consumer_lag is "updated on every fetch and, while no fetch
// comes, from the brokers every 10s, so it grows while a store is down".
// While every fetch of a partition fails (TOPIC_AUTHORIZATION_FAILED: the
// Read ACL was removed), fetches keep coming, each without the
// partition's end (-1), and each counts as one that gave the ends
// (lags.fetched stamps fetchedAt for every partition it sees), so the
// consumer never asks the brokers: records produced meanwhile, which this
// member does not consume, never show in the lag. /readyz stays ready
// too (the member is in its group and every broker answers): the lag,
// the one signal left, reads 0.
func TestR38cLagGrowsWhileFetchesFail(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	k := newOwnKafka(t, 1)
	var denied atomic.Bool
	k.fake.ControlKey(int16(kmsg.Fetch), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		k.fake.KeepControl()
		if !denied.Load() {
			return nil, nil, false
		}
		req := kreq.(*kmsg.FetchRequest)
		resp := req.ResponseKind().(*kmsg.FetchResponse)
		resp.Version = req.Version
		for _, rt := range req.Topics {
			st := kmsg.NewFetchResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewFetchResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.TopicAuthorizationFailed.Code
				sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = -1, -1, -1
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	logs := &r38cMessages{n: map[string]int{}}
	reg := prometheus.NewRegistry()
	eng := widgetEngine(t, pgURL, newViewSink(), reg, nil, 50*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The lag is asked of the brokers after 3s without a fetch (10s by
	// default), longer than between two refused fetches.
	startConsumer(t, ctx, eng, projector.ConsumerOptions{Brokers: k.addrs, Group: "r38c-fetchlag", ClientID: "r38c",
		LagRefresh: 3 * time.Second, Logger: slog.New(logs)})
	k.widget(t, "w0", 0)
	lag := map[string]string{"topic": "cqrs.public.widgets", "partition": "0"}
	waitCond(t, "caught up", 30*time.Second, func() bool {
		v, ok := metricValue(t, reg, "projector_consumer_lag", lag)
		return ok && v == 0 && k.committed("r38c-fetchlag", 0) == 1
	})

	denied.Store(true) // the ACL is removed
	waitCond(t, "a refused fetch", 30*time.Second, func() bool { return logs.count("fetch error") > 0 })
	for _, id := range []string{"w1", "w2", "w3", "w4", "w5"} {
		k.widget(t, id, 0) // produced, and not consumed
	}
	if !eventually(9*time.Second, func() bool { v, _ := metricValue(t, reg, "projector_consumer_lag", lag); return v >= 5 }) {
		v, _ := metricValue(t, reg, "projector_consumer_lag", lag)
		t.Errorf("projector_consumer_lag = %v while 5 records wait behind fetches that fail (%d fetch errors logged)", v, logs.count("fetch error"))
	}
}
