package kafkautil_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/kafkautil"
	"github.com/projectorhq/projector/internal/kafkautil/kafkatest"
	"github.com/projectorhq/projector/internal/testenv"
)

// connectFailures closes reached once n connections could not be set up
// after it was armed.
type connectFailures struct {
	armed   atomic.Bool
	n       atomic.Int32
	want    int32
	reached chan struct{}
}

func (f *connectFailures) OnBrokerConnect(_ kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if err != nil && f.armed.Load() && f.n.Add(1) == f.want {
		close(f.reached)
	}
}

// TestHealthKeepsCauseAfterSessionLoss: a group member that had joined
// loses its connections, and every reconnect is refused in SASL. franz-go
// then reports the group's failure as a bare EOF: it must not replace the
// explained SASL refusal (what /readyz shows), and the outage is logged
// once, not once per retry as the two alternate.
func TestHealthKeepsCauseAfterSessionLoss(t *testing.T) {
	pki := kafkatest.NewPKI(t)
	var ln *kafkatest.CutListener
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"),
		kfake.TLS(pki.ServerTLS(false)), kfake.EnableSASL(), kfake.Superuser("PLAIN", "projector", password),
		kafkatest.Listen(&ln))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var logs testenv.Logs
	h := kafkautil.NewHealth(slog.New(slog.NewTextHandler(&logs, nil)))
	opts, err := kafkautil.ClientOpts(config.Kafka{Brokers: c.ListenAddrs(), TLS: &config.TLS{Enabled: true, CACert: pki.CA},
		SASL: &config.SASL{Mechanism: config.SASLPlain, Username: "projector", Password: password}})
	if err != nil {
		t.Fatal(err)
	}
	assigned := make(chan struct{})
	var once sync.Once
	failures := &connectFailures{want: 20, reached: make(chan struct{})}
	cl, err := kgo.NewClient(append(opts, h.Opt(), kgo.WithHooks(failures), kgo.ConsumerGroup("g"), kgo.ConsumeTopics("t"),
		kgo.RequestRetries(1),
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }),
		kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) { once.Do(func() { close(assigned) }) }))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	go func() {
		for {
			if f := cl.PollFetches(context.Background()); f.IsClientClosed() {
				return
			}
		}
	}()
	select {
	case <-assigned:
	case <-time.After(20 * time.Second):
		t.Fatal("never joined")
	}
	c.ControlKey(int16(kmsg.SASLAuthenticate), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		return nil, errors.New("credentials revoked"), true
	})
	failures.armed.Store(true)
	ln.Cut()
	select {
	case <-failures.reached:
	case <-time.After(30 * time.Second):
		t.Fatalf("%d failed reconnections within 30s", failures.n.Load())
	}
	if n := strings.Count(logs.String(), "cannot reach kafka"); n != 1 {
		t.Errorf("the outage was logged %d times over %d failed reconnections, want once:\n%s", n, failures.want, logs.String())
	}
	if err := h.Err(); err == nil || !strings.Contains(err.Error(), "rejected the SASL credentials") {
		t.Errorf("Err() = %v, want the explained SASL refusal", err)
	}
}

// TestHealthSASLPerBroker: a SASL exchange cut short on one broker
// explains that broker's failed connection only; another broker's
// refused dial meanwhile is reported as what it is.
func TestHealthSASLPerBroker(t *testing.T) {
	h := kafkautil.NewHealth(nil)
	one, two := kgo.BrokerMetadata{NodeID: 1}, kgo.BrokerMetadata{NodeID: 2}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	h.OnBrokerRead(one, int16(kmsg.SASLAuthenticate), 0, 0, 0, io.EOF)
	h.OnBrokerConnect(two, 0, nil, refused)
	if err := h.Err(); err == nil || strings.Contains(err.Error(), "SASL") {
		t.Errorf("broker 2's refused dial: %v, want it without SASL", err)
	}
	h.OnBrokerConnect(one, 0, nil, io.EOF)
	if err := h.Err(); err == nil || !strings.Contains(err.Error(), "rejected the SASL credentials") {
		t.Errorf("broker 1's connection: %v, want the SASL refusal", err)
	}
	// The refusal stays the cause through the bare errors that follow it.
	h.OnGroupManageError(io.EOF)
	h.OnBrokerConnect(two, 0, nil, refused)
	if err := h.Err(); err == nil || !strings.Contains(err.Error(), "rejected the SASL credentials") {
		t.Errorf("after bare errors: %v, want the SASL refusal kept", err)
	}
}

// levelLog keeps the messages logged at warn and error.
type levelLog struct {
	mu          sync.Mutex
	warn, error []string
}

func (h *levelLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *levelLog) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case r.Level >= slog.LevelError:
		h.error = append(h.error, r.Message)
	case r.Level >= slog.LevelWarn:
		h.warn = append(h.warn, r.Message)
	}
	return nil
}
func (h *levelLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *levelLog) WithGroup(string) slog.Handler      { return h }

func (h *levelLog) counts() (warn, errs int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.warn), len(h.error)
}

var (
	broker1 = kgo.BrokerMetadata{NodeID: 1, Host: "kafka-1", Port: 9092}
	broker2 = kgo.BrokerMetadata{NodeID: 2, Host: "kafka-2", Port: 9092}
	broker3 = kgo.BrokerMetadata{NodeID: 3, Host: "kafka-3", Port: 9092}
	refused = &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
)

// TestHealthOneBrokerDownIsNotKafkaDown: a rolling restart takes one
// broker of three down for minutes while the others serve every fetch and
// commit. The client keeps dialing the stopped broker now and then
// (metadata requests pick any broker): that is not Kafka down (/readyz
// stays ready) and is logged once, at warn, until the broker connects
// again; its next outage is logged again.
func TestHealthOneBrokerDownIsNotKafkaDown(t *testing.T) {
	logs := &levelLog{}
	h := kafkautil.NewHealth(slog.New(logs))
	h.OnBrokerE2E(broker1, int16(kmsg.Metadata), kgo.BrokerE2E{})
	h.OnBrokerE2E(broker2, int16(kmsg.Fetch), kgo.BrokerE2E{})
	for range 5 {
		h.OnBrokerConnect(broker3, 0, nil, refused)
		if err := h.Err(); err != nil {
			t.Fatalf("broker 3 refusing dials while 1 and 2 answer: Err() = %v, want nil (ready)", err)
		}
		h.OnBrokerE2E(broker1, int16(kmsg.Fetch), kgo.BrokerE2E{})
	}
	if warn, errs := logs.counts(); warn != 1 || errs != 0 {
		t.Errorf("one broker refusing dials 5 times: %d warnings, %d errors %q, want 1 warning", warn, errs, logs.error)
	}
	h.OnBrokerConnect(broker3, 0, nil, nil) // restarted
	h.OnBrokerConnect(broker3, 0, nil, refused)
	if warn, _ := logs.counts(); warn != 2 {
		t.Errorf("broker 3 down again after it connected: %d warnings, want 2", warn)
	}
}

// TestHealthBrokerDownPastGrace: a broker unreachable past the grace
// period is logged at error, once; Kafka stays ready while others answer.
func TestHealthBrokerDownPastGrace(t *testing.T) {
	logs := &levelLog{}
	h := kafkautil.NewHealth(slog.New(logs))
	now := time.Now()
	h.SetClock(func() time.Time { return now })
	h.OnBrokerE2E(broker1, int16(kmsg.Fetch), kgo.BrokerE2E{})
	h.OnBrokerConnect(broker3, 0, nil, refused)
	now = now.Add(kafkautil.BrokerGrace)
	for range 3 {
		h.OnBrokerConnect(broker3, 0, nil, refused)
	}
	if warn, errs := logs.counts(); warn != 1 || errs != 1 {
		t.Errorf("broker 3 down past the grace period: %d warnings, %d errors, want 1 and 1", warn, errs)
	}
	if err := h.Err(); err != nil {
		t.Errorf("Err() = %v while broker 1 answers, want nil", err)
	}
}

// TestHealthEveryBrokerDownIsKafkaDown: once no broker answers (each one
// that answered failed since; the seed the client bootstrapped from is
// one of them under another id), Kafka is down, logged at error once; a
// request that goes through ends it.
func TestHealthEveryBrokerDownIsKafkaDown(t *testing.T) {
	logs := &levelLog{}
	h := kafkautil.NewHealth(slog.New(logs))
	h.OnBrokerE2E(kgo.BrokerMetadata{NodeID: math.MinInt32, Host: "kafka-1", Port: 9092}, int16(kmsg.Metadata), kgo.BrokerE2E{})
	h.OnBrokerE2E(broker1, int16(kmsg.Fetch), kgo.BrokerE2E{})
	h.OnBrokerE2E(broker2, int16(kmsg.Fetch), kgo.BrokerE2E{})
	h.OnBrokerConnect(broker1, 0, nil, refused)
	if err := h.Err(); err != nil {
		t.Fatalf("broker 2 answers: Err() = %v", err)
	}
	// Broker 2's connection breaks, then its dial is refused.
	h.OnBrokerE2E(broker2, int16(kmsg.Fetch), kgo.BrokerE2E{ReadErr: io.EOF})
	for range 3 {
		h.OnBrokerConnect(broker2, 0, nil, refused)
		h.OnBrokerConnect(broker1, 0, nil, refused)
	}
	if err := h.Err(); err == nil || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("no broker answers: Err() = %v, want the refused dial", err)
	}
	if _, errs := logs.counts(); errs != 1 {
		t.Errorf("%d errors logged for one outage, want 1: %q", errs, logs.error)
	}
	h.OnBrokerE2E(broker2, int16(kmsg.Fetch), kgo.BrokerE2E{})
	if err := h.Err(); err != nil {
		t.Errorf("broker 2 answers again: Err() = %v, want nil", err)
	}
}

// TestHealthGroupInFlux: the errors of a group whose coordinator moves,
// loads or rebalances, which the client retries, are not Kafka down; a
// refusal to manage the group (not authorized) is.
func TestHealthGroupInFlux(t *testing.T) {
	for _, err := range []error{kerr.CoordinatorNotAvailable, kerr.NotCoordinator, kerr.CoordinatorLoadInProgress,
		kerr.RebalanceInProgress, kerr.UnknownMemberID, kerr.IllegalGeneration} {
		h := kafkautil.NewHealth(nil)
		h.OnGroupManageError(fmt.Errorf("join group: %w", err))
		if got := h.Err(); got != nil {
			t.Errorf("after %v: Err() = %v, want nil", err, got)
		}
	}
	h := kafkautil.NewHealth(nil)
	h.OnGroupManageError(kerr.GroupAuthorizationFailed)
	if got := h.Err(); !errors.Is(got, kerr.GroupAuthorizationFailed) {
		t.Errorf("after an authorization failure: Err() = %v, want it", got)
	}
}
