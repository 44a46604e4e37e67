package kafkautil

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Explain returns err with what to change when it is a TLS or SASL
// failure, which franz-go reports in the brokers' or crypto/tls's terms;
// other errors come back as they are.
func Explain(err error) error {
	if hint := hint(err); hint != "" {
		return fmt.Errorf("%w (%s)", err, hint)
	}
	return err
}

// hint says what to change for a connection failure, "" when it is not
// one projector's settings can fix.
func hint(err error) string {
	var (
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		record    tls.RecordHeaderError
	)
	switch {
	case err == nil:
		return ""
	case errors.As(err, &unknownCA):
		return "the brokers' certificate is not signed by a CA projector trusts: set kafka.tls.ca_cert to the CA that signed it"
	case errors.As(err, &hostname):
		return "the brokers' certificate does not name the address in kafka.brokers: use the name it has, or set kafka.tls.server_name"
	case errors.As(err, &invalid):
		return "the brokers' certificate is not valid (expired, or not for a server)"
	case errors.As(err, &record):
		return "the broker does not speak TLS on this port: remove kafka.tls or use its TLS listener"
	case clientCertRefused(err):
		return "the broker wants a client certificate it trusts: set kafka.tls.cert and kafka.tls.key"
	case errors.Is(err, kerr.SaslAuthenticationFailed), errors.Is(err, errSASLClosed):
		return "the brokers rejected the SASL credentials: check kafka.sasl.mechanism and its credentials " +
			"(username and password; for oauthbearer the client, scope and extensions the brokers expect; " +
			"for aws_msk_iam that the AWS identity may kafka-cluster:Connect)"
	case errors.Is(err, kerr.UnsupportedSaslMechanism), errors.Is(err, kerr.IllegalSaslState):
		return "the brokers do not accept kafka.sasl.mechanism: ask which mechanism their listener enables"
	}
	return ""
}

// clientCertRefused reports a broker's TLS alert about the client's
// certificate. crypto/tls keeps the alert type unexported on the client
// side (tls.AlertError is QUIC's), so its text is all there is.
func clientCertRefused(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "remote error: tls: certificate required") ||
		strings.Contains(msg, "remote error: tls: bad certificate") ||
		strings.Contains(msg, "remote error: tls: unknown certificate authority")
}

// errSASLClosed is a connection closed by the broker in the middle of SASL
// authentication, which is how some brokers and proxies (and kfake)
// reject credentials instead of answering SASL_AUTHENTICATION_FAILED.
var errSASLClosed = errors.New("the broker closed the connection during SASL authentication")

// Request keys of a connection's set-up: versions, then SASL.
const (
	keyAPIVersions      = 18
	keySASLHandshake    = 17
	keySASLAuthenticate = 36
)

// Health is a franz-go hook that keeps the last reason a client could not
// reach the brokers. A consumer that cannot connect retries forever; with
// Health the daemon says why, once in its log and in /readyz, instead of
// only that it has no partitions yet.
//
// One broker that does not answer while others do (a rolling restart) is
// not Kafka down: the client works on through the others. It is logged at
// warn once until that broker connects again, and at error once if it
// stays unreachable past the grace period; Err reports Kafka down only
// while no broker answers (or the group cannot be joined).
type Health struct {
	log   *slog.Logger
	grace time.Duration
	now   func() time.Time

	mu    sync.Mutex
	cause error // the last failure, explained
	// group is a failure of the group's management since the last request
	// that went through.
	group bool
	// failing are the brokers (by node id) whose connection failed since
	// they last answered.
	failing map[int32]*brokerFailure
	// logged are the causes logged since Kafka was last reachable, so
	// that retries log each once however the causes alternate.
	logged map[string]bool
	// inSASL holds the brokers (by node id) whose connection being set up
	// failed in SASL: each broker's own, so that one broker's refused
	// password never labels another's refused dial.
	inSASL map[int32]bool
	// answering are the brokers (by node id, seeds aside) whose last
	// request went through: read without the lock by OnBrokerE2E, which
	// runs for every request, and replaced (never changed) under it.
	answering atomic.Pointer[map[int32]bool]
	// troubled is group || len(failing) > 0, read without the lock.
	troubled atomic.Bool
}

// brokerFailure is one broker's connection failures since it last answered.
type brokerFailure struct {
	since     time.Time
	warned    bool // logged at warn while the others answered
	escalated bool // logged at error, past the grace period
}

// maxLogged bounds the distinct causes logged in one outage: messages
// that carry a local port (a reset connection) differ on every retry.
const maxLogged = 16

// brokerGrace is how long one broker may stay unreachable, while others
// answer, before it is logged at error.
const brokerGrace = 5 * time.Minute

// NewHealth returns a Health logging to log.
func NewHealth(log *slog.Logger) *Health {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Health{log: log, grace: brokerGrace, now: time.Now, failing: map[int32]*brokerFailure{},
		logged: map[string]bool{}, inSASL: map[int32]bool{}}
	h.answering.Store(&map[int32]bool{})
	return h
}

// Opt installs h in a client.
func (h *Health) Opt() kgo.Opt { return kgo.WithHooks(h) }

// Err is the last failure to reach Kafka, explained, while no broker
// answers or the group cannot be managed; nil otherwise.
func (h *Health) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.down() {
		return nil
	}
	return h.cause
}

// down reports whether Kafka cannot be reached: the group failed, or some
// broker failed and none answers. Call with h.mu held.
func (h *Health) down() bool {
	return h.cause != nil && (h.group || len(h.failing) > 0 && len(*h.answering.Load()) == 0)
}

// OnBrokerConnect sees each connection set up: the dial, the TLS
// handshake and the SASL exchange.
func (h *Health) OnBrokerConnect(meta kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	h.mu.Lock()
	inSASL := h.inSASL[meta.NodeID]
	delete(h.inSASL, meta.NodeID)
	if err == nil {
		// Log this broker's next failure again.
		delete(h.failing, meta.NodeID)
		h.troubled.Store(h.group || len(h.failing) > 0)
	}
	h.mu.Unlock()
	switch {
	case err == nil:
	case inSASL && !errors.Is(err, kerr.SaslAuthenticationFailed):
		h.fail(&meta, fmt.Errorf("%w: %w", errSASLClosed, err))
	default:
		h.fail(&meta, err)
	}
}

// OnBrokerRead notes a SASL exchange cut short, for OnBrokerConnect,
// which comes next for the same broker with only the bare read error
// (EOF).
func (h *Health) OnBrokerRead(meta kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if err != nil && (key == keySASLHandshake || key == keySASLAuthenticate) {
		h.mu.Lock()
		h.inSASL[meta.NodeID] = true
		h.mu.Unlock()
	}
}

// OnGroupManageError sees what keeps the member out of the group, SASL
// failures among them. The errors of a group moving or rebalancing (its
// coordinator restarting, loading, or moving to another broker; the member
// fenced by a rebalance), which the client retries by itself, are not
// Kafka down: /readyz would flap with every coordinator move.
func (h *Health) OnGroupManageError(err error) {
	switch {
	case errors.Is(err, context.Canceled):
	case groupInFlux(err):
		h.log.Debug("the consumer group is moving or rebalancing; retrying", "err", err)
	default:
		h.fail(nil, err)
	}
}

// groupInFlux reports whether err is one the group's coordinator answers
// while it moves, loads or rebalances.
func groupInFlux(err error) bool {
	for _, e := range []error{kerr.CoordinatorNotAvailable, kerr.NotCoordinator, kerr.CoordinatorLoadInProgress,
		kerr.RebalanceInProgress, kerr.UnknownMemberID, kerr.IllegalGeneration} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// OnBrokerE2E sees every request: one that went through, past setting up
// its connection, means its broker answers, and the group's failure is
// over; one whose connection broke means the broker no longer answers.
func (h *Health) OnBrokerE2E(meta kgo.BrokerMetadata, key int16, e2e kgo.BrokerE2E) {
	if key == keyAPIVersions || key == keySASLHandshake || key == keySASLAuthenticate {
		return
	}
	ok := e2e.Err() == nil
	if ok == (*h.answering.Load())[meta.NodeID] && (!ok || !h.troubled.Load()) {
		return // nothing changes: the common case, without the lock
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.setAnswering(meta.NodeID, ok)
	if !ok {
		return
	}
	delete(h.failing, meta.NodeID)
	h.group = false
	if len(h.failing) == 0 {
		h.cause = nil
	}
	h.troubled.Store(len(h.failing) > 0)
	clear(h.logged) // Kafka answers: the next outage is logged again
}

// setAnswering records whether a broker answers. Call with h.mu held.
// A seed broker (a negative id) is an alias, for bootstrapping, of a
// broker the client knows by its id once it read the metadata: its
// requests are few, and it would stay "answering" long after that broker
// stopped.
func (h *Health) setAnswering(node int32, ok bool) {
	old := *h.answering.Load()
	if old[node] == ok || node < 0 {
		return
	}
	m := make(map[int32]bool, len(old)+1)
	for n := range old {
		if n != node {
			m[n] = true
		}
	}
	if ok {
		m[node] = true
	}
	h.answering.Store(&m)
}

// Explain is the package's Explain, adding the failure the hook saw when
// err alone (a deadline, an EOF) does not say what is wrong.
func (h *Health) Explain(err error) error {
	if err == nil || hint(err) != "" {
		return Explain(err)
	}
	h.mu.Lock()
	cause := h.cause
	h.mu.Unlock()
	if cause != nil {
		return fmt.Errorf("%w; last connection failure: %w", err, cause)
	}
	return err
}

// fail records err as the cause, of the broker meta (nil: the group's
// management). While Kafka is down it logs each cause at error once per
// outage: a client retrying a wrong password would otherwise log it every
// second. A broker failing while others answer is logged at warn once until
// it connects again, and at error once past the grace period. An error
// without a hint (the bare EOF franz-go gives the group once its member's
// session is lost) does not replace an explained cause: it is what that
// cause looks like from further away.
func (h *Health) fail(meta *kgo.BrokerMetadata, err error) {
	h.mu.Lock()
	if hint(err) == "" && hint(h.cause) != "" {
		err = h.cause
	} else {
		err = Explain(err)
	}
	h.cause = err
	var b *brokerFailure
	if meta == nil {
		h.group = true
	} else {
		h.setAnswering(meta.NodeID, false)
		if b = h.failing[meta.NodeID]; b == nil {
			b = &brokerFailure{since: h.now()}
			h.failing[meta.NodeID] = b
		}
	}
	h.troubled.Store(true)
	var level slog.Level
	var msg string
	switch {
	case h.down():
		if text := err.Error(); !h.logged[text] && len(h.logged) < maxLogged {
			h.logged[text] = true
			level, msg = slog.LevelError, "cannot reach kafka; retrying"
		}
	case b != nil && !b.warned:
		b.warned = true
		level, msg = slog.LevelWarn, "a kafka broker does not answer; the others do"
	case b != nil && !b.escalated && h.now().Sub(b.since) >= h.grace:
		b.escalated = true
		level, msg = slog.LevelError, "a kafka broker has not answered for "+h.grace.String()+"; the others do"
	}
	h.mu.Unlock()
	if msg == "" {
		return
	}
	if meta == nil {
		h.log.Log(context.Background(), level, msg, "err", err)
	} else {
		h.log.Log(context.Background(), level, msg, "broker", net.JoinHostPort(meta.Host, strconv.Itoa(int(meta.Port))), "err", err)
	}
}
