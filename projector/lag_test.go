package projector_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// TestConsumerLagForgottenOnRevoke: once a second member takes a
// partition, the first no longer exports projector_consumer_lag of it: a
// dashboard or alert summing the lag over pods would count it twice, and
// an alert on max() fire on, or be cleared by, a series nobody updates.
func TestConsumerLagForgottenOnRevoke(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	k := newOwnKafka(t, 2)
	_, plan := loadPlan(t, widgetsYAML, env("BROKERS", brokers(k.cluster), "PG", pgURL, "REDIS", "redis://unused", "PREFIX", ""))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const group = "lagrevoke"
	regA := prometheus.NewRegistry()
	engA, err := projector.New(projector.Options{Plan: plan, Pool: pool, Sinks: []projector.Route{{Sink: newViewSink(), Views: viewNames(plan)}}, Metrics: projector.NewMetrics(regA)})
	if err != nil {
		t.Fatal(err)
	}
	if err := engA.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	k.widget(t, "p0-1", 0)
	k.widget(t, "p1-1", 1)
	k.member(t, ctx, engA, group, "a", 100)
	waitCond(t, "A's lag of both partitions", time.Minute, func() bool {
		return len(metricSeries(t, regA, "projector_consumer_lag")) == 2
	})

	regB := prometheus.NewRegistry()
	engB, err := projector.New(projector.Options{Plan: plan, Pool: pool, Sinks: []projector.Route{{Sink: newViewSink(), Views: viewNames(plan)}}, Metrics: projector.NewMetrics(regB)})
	if err != nil {
		t.Fatal(err)
	}
	k.member(t, ctx, engB, group, "b", 100)
	var asg map[string][]int32
	waitCond(t, "both members assigned", time.Minute, func() bool { asg = assignment(k, group, 2); return asg != nil })
	// B consumes a record of its partition, so its own series exists.
	k.widget(t, fmt.Sprintf("p%d-2", asg["b"][0]), asg["b"][0])
	waitCond(t, "B's lag", time.Minute, func() bool { return len(metricSeries(t, regB, "projector_consumer_lag")) > 0 })

	for _, p := range asg["b"] {
		if v, ok := metricValue(t, regA, "projector_consumer_lag", map[string]string{"topic": "cqrs.public.widgets", "partition": fmt.Sprint(p)}); ok {
			t.Errorf("member A still exports projector_consumer_lag{partition=%d} = %v though member B owns that partition (A owns %v)", p, v, asg["a"])
		}
	}
}

// switchSink writes to a viewSink until down is set, then fails.
type switchSink struct {
	viewSink
	down     atomic.Bool
	failures atomic.Int64
}

func (s *switchSink) Name() string { return "switch" }
func (s *switchSink) Write(ctx context.Context, docs []sinks.Doc) error {
	if s.down.Load() {
		s.failures.Add(1)
		return errors.New("connection refused")
	}
	return s.viewSink.Write(ctx, docs)
}

// TestConsumerLagGrowsWhileStalled: projector_consumer_lag counts the
// records from the committed position to the partition's end, so when a
// sink goes down and the consumer stalls it grows with the records that
// pile up: with every fetch, and from the brokers once the pipeline is
// full and the consumer fetches no more.
func TestConsumerLagGrowsWhileStalled(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	kc := newCluster(t, 1, "cqrs.public.widgets")
	sink := &switchSink{viewSink: viewSink{docs: map[string]sinks.Doc{}}}
	reg := prometheus.NewRegistry()
	eng := widgetEngine(t, pgURL, sink, reg, nil, 50*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := projector.NewConsumer(eng, projector.ConsumerOptions{Brokers: kc.addrs, Group: "lagstall", ClientID: "lag",
		LagRefresh: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, nil) }()
	defer func() { cancel(); <-done }()
	produce := func(ids ...string) {
		var recs []*kgo.Record
		for _, id := range ids {
			r := widgetChange(t, id)
			recs = append(recs, &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value})
		}
		kc.produce(t, recs...)
	}
	lag := map[string]string{"topic": "cqrs.public.widgets", "partition": "0"}
	produce("w0")
	waitCond(t, "the first batch committed", time.Minute, func() bool { _, ok := metricValue(t, reg, "projector_consumer_lag", lag); return ok })

	sink.down.Store(true) // the store goes down
	var ids []string
	for i := range 100 {
		ids = append(ids, fmt.Sprintf("x%d", i))
	}
	produce(ids...)
	waitCond(t, "the consumer stalled on the new records", time.Minute, func() bool { return sink.failures.Load() >= 5 })
	if v, _ := metricValue(t, reg, "projector_consumer_lag", lag); v < 100 {
		t.Errorf("projector_consumer_lag = %v while 100 records wait behind a sink that is down (%d failed writes)", v, sink.failures.Load())
	}
	lagAtLeast := func(n float64) func() bool {
		return func() bool { v, _ := metricValue(t, reg, "projector_consumer_lag", lag); return v >= n }
	}
	// One batch is applied while the stuck one is written, the next decoded
	// waits for both: past it the consumer polls no more.
	produce("y0")
	waitCond(t, "y0 fetched", time.Minute, lagAtLeast(101))
	produce("y1")
	waitCond(t, "y1 fetched", time.Minute, lagAtLeast(102))
	ids = ids[:0]
	for i := range 50 {
		ids = append(ids, fmt.Sprintf("z%d", i))
	}
	produce(ids...)
	waitCond(t, "the lag of records produced while the consumer fetches no more", time.Minute, lagAtLeast(152))
}
