package projector_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// TestRejoinedMemberConsumesKeptPartitionsFromTheirStartWhenNothingIsCommitted:
// a new group, whose first two members both hang on their first write, so
// that the group never commits anything. A is dropped (its write outlasted
// the rebalance timeout) and B takes both partitions; then A's write
// completes and A joins again under a new member ID, consuming the records
// produced meanwhile from where it was and dropping their commits; B is
// dropped in its turn and crashes. A keeps both partitions (franz-go counts
// them as never lost, and fetches no offsets for them): with no committed
// offset to go back to, A must consume them again from their start, as a
// new member would, and commit their ends.
func TestRejoinedMemberConsumesKeptPartitionsFromTheirStartWhenNothingIsCommitted(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	k := fencingKafka(t, 2)
	_, plan := loadPlan(t, widgetsYAML, env("BROKERS", brokers(k.cluster), "PG", pgURL, "REDIS", "redis://unused", "PREFIX", ""))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const group = "rejoined-nothing-committed"
	k.widget(t, "p0-1", 0)
	k.widget(t, "p1-1", 1)

	sinkA := r38bNewGate(newViewSink())
	sinkA.arm(0)
	logA := &capturedLog{}
	startConsumer(t, ctx, newEngine(t, pool, plan, sinkA, nil), projector.ConsumerOptions{
		Brokers: k.addrs, Group: group, ClientID: "a", BatchSize: 100, Extra: shortSession(), Logger: slog.New(logA)})
	<-sinkA.heldChan()

	sinkB := r38bNewGate(newViewSink())
	sinkB.arm(0)
	bctx, crashB := context.WithCancel(ctx)
	defer crashB()
	poolB, _ := testenv.Postgres(t) // a state of its own: B's first write is of its first batch, not A's pending docs
	startConsumer(t, bctx, newEngine(t, poolB, plan, sinkB, nil), projector.ConsumerOptions{
		Brokers: k.addrs, Group: group, ClientID: "b", BatchSize: 5, Extra: shortSession()})
	waitCond(t, "B alone with both partitions", time.Minute, func() bool {
		asg := assignment(k, group, 1)
		return asg != nil && len(asg["b"]) == 2
	})
	<-sinkB.heldChan()

	const last = 10
	for i := 2; i <= last; i++ {
		k.widget(t, fmt.Sprintf("p0-%d", i), 0)
		k.widget(t, fmt.Sprintf("p1-%d", i), 1)
	}
	sinkA.open()
	waitCond(t, "A alone with both partitions", time.Minute, func() bool {
		asg := assignment(k, group, 1)
		return asg != nil && len(asg["a"]) == 2
	})
	crashB()

	if !eventually(10*time.Second, func() bool { return k.committed(group, 0) == last && k.committed(group, 1) == last }) {
		t.Errorf("committed offsets p0=%d p1=%d, want %d: A kept partitions the group never committed and did not consume them again\nA's log:\n%s",
			k.committed(group, 0), k.committed(group, 1), last, logA)
	}
	sinkA.inner.(*viewSink).mu.Lock()
	defer sinkA.inner.(*viewSink).mu.Unlock()
	for p := 0; p < 2; p++ {
		for i := 1; i <= last; i++ {
			if _, ok := sinkA.inner.(*viewSink).docs[fmt.Sprintf("widget_view/p%d-%d", p, i)]; !ok {
				t.Errorf("widget p%d-%d never written", p, i)
			}
		}
	}
}
