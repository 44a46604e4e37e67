package projector_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// r14kHungCommits runs a member whose offset commits the coordinator never
// answers, once it has tried to commit its first batch, then ends it with
// end (a graceful stop or a hard one) and reports how long Run took to
// return (capped at limit).
func r14kHungCommits(t *testing.T, hard bool, limit time.Duration) (time.Duration, bool) {
	pool, pgURL := testenv.Postgres(t)
	k := newOwnKafka(t, 1)
	_, plan := loadPlan(t, widgetsYAML, env("BROKERS", brokers(k.cluster), "PG", pgURL, "REDIS", "redis://unused", "PREFIX", ""))
	hung := make(chan struct{}, 100)
	k.fake.ControlKey(int16(kmsg.OffsetCommit), func(kmsg.Request) (kmsg.Response, error, bool) {
		k.fake.KeepControl()
		select {
		case hung <- struct{}{}:
		default:
		}
		return nil, nil, true // no answer
	})
	k.widget(t, "w1", 0)
	c, err := projector.NewConsumer(newEngine(t, pool, plan, newViewSink(), nil), projector.ConsumerOptions{
		Brokers: k.addrs, Group: "hung", ClientID: "a", BatchSize: 100, ShutdownTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, stop) }()
	t.Cleanup(func() { cancel(); <-done; done <- nil })
	select {
	case <-hung:
	case <-time.After(time.Minute):
		t.Fatal("the batch was never committed")
	}
	start := time.Now()
	if hard {
		cancel()
	} else {
		close(stop)
	}
	select {
	case err := <-done:
		done <- err
		t.Logf("Run returned after %s: %v", time.Since(start), err)
		return time.Since(start), true
	case <-time.After(limit):
		return limit, false
	}
}

// TestR14kGracefulStopBoundedWhileCommitsHang: the group coordinator
// stops answering offset commits (a broker hung, a network partition to
// it). A graceful stop must still end within about kafka.shutdown_timeout
// (README, Stopping: past it "it leaves the group and exits 0"), well
// within Kubernetes' grace period.
func TestR14kGracefulStopBoundedWhileCommitsHang(t *testing.T) {
	d, ok := r14kHungCommits(t, false, 25*time.Second)
	if !ok || d > 10*time.Second {
		t.Errorf("the graceful stop took %s (ended: %v) with a 1s shutdown timeout: Kubernetes kills the pod at 30s", d, ok)
	}
}

// TestR14kHardStopWhileCommitsHang: the same with the second signal (Run's
// ctx cancelled), which "exits at once" and commits nothing more.
func TestR14kHardStopWhileCommitsHang(t *testing.T) {
	d, ok := r14kHungCommits(t, true, 25*time.Second)
	if !ok || d > 5*time.Second {
		t.Errorf("the hard stop took %s (ended: %v): it must exit at once", d, ok)
	}
}
