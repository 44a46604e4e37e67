package projector_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// TestR15oLagOfACaughtUpPartitionAfterRestart: a member that restarts
// caught up owns its partition, and projector_consumer_lag of it is
// "records from this member's committed offset to the partition's end"
// (0), "updated on every fetch and, while no fetch comes, from the brokers
// every 10s". The restarted member never exports the series: no fetch
// brings records, and the brokers are asked only about partitions a fetch
// already showed. Dashboards see no data and alerts on the lag see
// nothing for every idle partition after each deploy.
func TestR15oLagOfACaughtUpPartitionAfterRestart(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	kc := newCluster(t, 1, "cqrs.public.widgets")
	const group = "r15o-lag-restart"
	r := widgetChange(t, "w1")
	kc.produce(t, &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value})

	run := func(reg *prometheus.Registry) (*projector.Consumer, func()) {
		eng := widgetEngine(t, pgURL, newViewSink(), reg, nil, 50*time.Millisecond)
		c, err := projector.NewConsumer(eng, projector.ConsumerOptions{Brokers: kc.addrs, Group: group, ClientID: "r15o",
			LagRefresh: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		done := make(chan error, 1)
		go func() { done <- c.Run(context.Background(), stop) }()
		return c, func() {
			close(stop)
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		}
	}
	lag := map[string]string{"topic": "cqrs.public.widgets", "partition": "0"}

	regA := prometheus.NewRegistry()
	_, stopA := run(regA)
	waitCond(t, "the first member's lag at 0", time.Minute, func() bool {
		v, ok := metricValue(t, regA, "projector_consumer_lag", lag)
		return ok && v == 0
	})
	stopA()

	regB := prometheus.NewRegistry()
	b, stopB := run(regB)
	defer stopB()
	waitCond(t, "the restarted member assigned", time.Minute, b.Joined)
	if !eventually(5*time.Second, func() bool {
		v, ok := metricValue(t, regB, "projector_consumer_lag", lag)
		return ok && v == 0
	}) {
		v, ok := metricValue(t, regB, "projector_consumer_lag", lag)
		t.Errorf("projector_consumer_lag{partition=0} of the restarted, caught-up member = %v (exported %v) 5s (100 lag refreshes) after it was assigned the partition; want the series at 0", v, ok)
	}
}
