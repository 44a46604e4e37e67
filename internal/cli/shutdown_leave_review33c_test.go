package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestR33cTimedOutStopStillLeavesTheGroup: README, Operations, Stopping:
// "If that takes longer than `kafka.shutdown_timeout` (default `20s`, under
// Kubernetes' default `terminationGracePeriodSeconds` of 30s), for example
// because a store is down, the batches not yet written are not committed
// (a warning says …), and it leaves the group and exits 0."
//
// It does not leave the group: the leave "gets what is left of
// kafka.shutdown_timeout", and after a drain that used all of it nothing
// is left, so Consumer.Run hands LeaveGroupContext an expired context, no
// LeaveGroup request is sent, and the log says "stopped without waiting
// for the group coordinator to let this member go; the group drops it when
// its session times out". The dead member keeps its partitions until its
// session times out (45 s by default): on top of the 20 s drain, its
// replacement in a rolling deploy consumes nothing for that long, though
// Kubernetes' grace period still had 10 s for a leave, which takes
// milliseconds. Here: a write blocked on a lock of the view table,
// shutdown_timeout 2s; right after `run` returned, the group still lists
// the member. Fix (projector/consumer.go, Run's deferred leave): give the
// leave a short bounded time of its own (a few seconds) even when the
// drain used all of shutdown_timeout, or reserve it out of the timeout.
func TestR33cTimedOutStopStillLeavesTheGroup(t *testing.T) {
	r := r33cStuckWrite(t, "r33c-leave", "", "2s")
	close(r.stop) // SIGTERM: the drain waits on the lock until shutdown_timeout
	select {
	case <-r.ended:
	case <-time.After(30 * time.Second):
		t.Fatalf("run did not stop within 30s of a stop with shutdown_timeout 2s\n%s", r.logs)
	}
	if r.err != nil {
		t.Fatalf("run after a timed-out graceful stop: %v, want nil (exit 0)\n%s", r.err, r.logs)
	}
	if !strings.Contains(r.logs.String(), "graceful stop timed out") {
		t.Fatalf("no word of the timed-out stop:\n%s", r.logs)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(r.brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	groups, err := kadm.NewClient(cl).DescribeGroups(ctx, "r33c-leave")
	if err != nil {
		t.Fatal(err)
	}
	g, ok := groups["r33c-leave"]
	if !ok || g.Err != nil {
		t.Fatalf("describe group r33c-leave: %+v", groups)
	}
	if len(g.Members) > 0 {
		t.Errorf("after `run` exited from a timed-out graceful stop the group still has %d member(s) (state %s): it never left, and its partitions wait for its session to time out\n%s",
			len(g.Members), g.State, r33cLastLines(r.logs.String(), 3))
	}
}
