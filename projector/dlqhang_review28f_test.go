package projector_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// r28fUnansweredDeadLetter runs a member whose dead-letter write the
// brokers never answer (the dead-letter partition's leader black-holed, or
// its reply lost), stops it once that write is in flight (gracefully, or
// at once: the second signal), and reports whether Run returned within
// limit. A widget, a record that cannot be decoded and another widget are
// on the topic; the records before the bad one may be committed, the bad
// one must not be.
func r28fUnansweredDeadLetter(t *testing.T, hard bool, limit time.Duration, extra ...kgo.Opt) (time.Duration, bool) {
	t.Helper()
	pool, pgURL := testenv.Postgres(t)
	k := newOwnKafka(t, 1)
	_, plan := loadPlan(t, widgetsYAML, env("BROKERS", brokers(k.cluster), "PG", pgURL, "REDIS", "redis://unused", "PREFIX", ""))
	k.widget(t, "w1", 0)
	bad := widgetRecord("w2", []byte(`{"before":null,"after":{"id":"w2"`)) // cut short
	if err := k.prod.ProduceSync(context.Background(), bad).FirstErr(); err != nil {
		t.Fatal(err)
	}
	k.widget(t, "w3", 0)
	// From now on the only producer is the member's dead-letter writer
	// (Produce v13 names topics by ID, so the request is not matched by
	// name): its requests are never answered.
	var inFlight atomic.Int64
	k.fake.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		k.fake.KeepControl()
		inFlight.Add(1)
		return nil, nil, true
	})
	var logs testenv.Logs
	c, err := projector.NewConsumer(newEngine(t, pool, plan, newViewSink(), nil), projector.ConsumerOptions{
		Brokers: k.addrs, Group: "r28f", ClientID: "a", BatchSize: 1, DeadLetterTopic: "r28f.dlq",
		ShutdownTimeout: time.Second, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Extra: extra})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, stop) }()
	t.Cleanup(cancel) // a Run that never returns is left behind
	waitCond(t, "the dead letter's produce request", time.Minute, func() bool { return inFlight.Load() > 0 })
	start := time.Now()
	if hard {
		cancel()
	} else {
		close(stop)
	}
	select {
	case err := <-done:
		t.Logf("Run returned after %s: %v", time.Since(start), err)
		if got := k.committed("r28f", 0); got > 1 {
			t.Errorf("committed offset %d, past the undelivered dead letter at 1", got)
		}
		return time.Since(start), true
	case <-time.After(limit):
		t.Logf("logs:\n%s", logs.String())
		return limit, false
	}
}

// TestR28fGracefulStopWhileDeadLetterUnanswered: README, Stopping: a
// graceful stop that takes longer than kafka.shutdown_timeout leaves the
// batches not yet written uncommitted, "and it leaves the group and exits
// 0". A dead letter whose produce request gets no answer holds the stop
// for ever: Consumer.finish's retry waits in ProduceSync
// (deadletter.go produceOmittingTooLarge), and franz-go's idempotent
// producer, by default, does not fail an in-flight record whose context
// ends (it cannot tell whether the broker stored it). Kubernetes then
// SIGKILLs the pod; an operator's Ctrl-C never returns.
func TestR28fGracefulStopWhileDeadLetterUnanswered(t *testing.T) {
	if d, ok := r28fUnansweredDeadLetter(t, false, 30*time.Second); !ok {
		t.Errorf("a graceful stop with a 1s kafka.shutdown_timeout had not returned after %s while a dead letter's write went unanswered", d)
	}
}

// TestR28fHardStopWhileDeadLetterUnanswered: README, Commands and
// Stopping: "A second signal exits at once with status 1". The second
// signal cancels Run's context, which ProduceSync does not heed for an
// in-flight idempotent record: Run never returns, so neither does
// `projector run`.
func TestR28fHardStopWhileDeadLetterUnanswered(t *testing.T) {
	if d, ok := r28fUnansweredDeadLetter(t, true, 30*time.Second); !ok {
		t.Errorf("a hard stop (the second signal) had not returned after %s while a dead letter's write went unanswered", d)
	}
}
