package projector_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// downSink fails every write, as a store that is down does.
type downSink struct{ attempts atomic.Int64 }

func (s *downSink) Name() string { return "down" }
func (s *downSink) Write(context.Context, []sinks.Doc) error {
	s.attempts.Add(1)
	return errors.New("connection refused")
}

// TestGracefulStopBoundedWhileSinkDown: Kubernetes sends one SIGTERM,
// then SIGKILL after terminationGracePeriodSeconds. A graceful stop while
// a store is down gives up on the batch in flight after ShutdownTimeout
// (with the production backoff, 30s between writes, the retry is ended,
// not waited for): Run returns nil, warns that the records will be
// consumed again, and commits nothing of the batch it never wrote.
func TestGracefulStopBoundedWhileSinkDown(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	kc := newCluster(t, 1, "cqrs.public.widgets")
	sink := &downSink{}
	eng := widgetEngine(t, pgURL, sink, prometheus.NewRegistry(), nil, 0) // the production backoff cap (30s)
	rec := widgetChange(t, "w1")
	kc.produce(t, &kgo.Record{Topic: rec.Topic, Key: rec.Key, Value: rec.Value})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs testenv.Logs
	const timeout = time.Second
	c, err := projector.NewConsumer(eng, projector.ConsumerOptions{Brokers: kc.addrs, Group: "stop", ClientID: "stop",
		ShutdownTimeout: timeout, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, stop) }()
	waitCond(t, "a failed sink write", time.Minute, func() bool { return sink.attempts.Load() > 0 })
	stopped := time.Now()
	close(stop) // SIGTERM
	const grace = 30 * time.Second
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v after a graceful stop that timed out, want nil (exit 0)", err)
		}
		if took := time.Since(stopped); took > grace {
			t.Errorf("the stop took %s", took)
		}
	case <-time.After(grace):
		t.Errorf("Run still running %s after a graceful stop (shutdown timeout %s) while a sink is down (%d write attempts): the pod would be SIGKILLed",
			grace, timeout, sink.attempts.Load())
		cancel()
		<-done
	}
	if offs := committed(t, kc, "stop"); len(offs) > 0 {
		t.Errorf("committed %v for a batch no sink took", offs)
	}
	if !strings.Contains(logs.String(), "level=WARN msg=\"the graceful stop timed out") {
		t.Errorf("no warning that the batch will be consumed again:\n%s", logs.String())
	}
}
