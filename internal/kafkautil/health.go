package kafkautil

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
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
		return "the brokers rejected the SASL credentials: check kafka.sasl.username, kafka.sasl.password and kafka.sasl.mechanism"
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
type Health struct {
	log *slog.Logger
	mu  sync.Mutex
	err error // the cause of the failures; nil once a request went through
	// logged are the causes logged since the brokers last answered, so
	// that retries log each once however the causes alternate.
	logged map[string]bool
	// inSASL holds the brokers (by node id) whose connection being set up
	// failed in SASL: each broker's own, so that one broker's refused
	// password never labels another's refused dial.
	inSASL map[int32]bool
	// failing is err != nil, read without the lock by OnBrokerE2E, which
	// runs for every request.
	failing atomic.Bool
}

// maxLogged bounds the distinct causes logged in one outage: messages
// that carry a local port (a reset connection) differ on every retry.
const maxLogged = 16

// NewHealth returns a Health logging to log.
func NewHealth(log *slog.Logger) *Health {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Health{log: log, logged: map[string]bool{}, inSASL: map[int32]bool{}}
}

// Opt installs h in a client.
func (h *Health) Opt() kgo.Opt { return kgo.WithHooks(h) }

// Err is the last failure to reach the brokers, explained, or nil when
// the last request went through.
func (h *Health) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// OnBrokerConnect sees each connection set up: the dial, the TLS
// handshake and the SASL exchange.
func (h *Health) OnBrokerConnect(meta kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	h.mu.Lock()
	inSASL := h.inSASL[meta.NodeID]
	delete(h.inSASL, meta.NodeID)
	h.mu.Unlock()
	switch {
	case err == nil:
	case inSASL && !errors.Is(err, kerr.SaslAuthenticationFailed):
		h.fail(fmt.Errorf("%w: %w", errSASLClosed, err))
	default:
		h.fail(err)
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
// failures among them.
func (h *Health) OnGroupManageError(err error) {
	if !errors.Is(err, context.Canceled) {
		h.fail(err)
	}
}

// OnBrokerE2E sees every request: one that went through, past setting up
// its connection, means the brokers are reachable again.
func (h *Health) OnBrokerE2E(_ kgo.BrokerMetadata, key int16, e2e kgo.BrokerE2E) {
	setup := key == keyAPIVersions || key == keySASLHandshake || key == keySASLAuthenticate
	if e2e.Err() == nil && !setup && h.failing.Load() {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.err = nil
		clear(h.logged)
		h.failing.Store(false)
	}
}

// Explain is the package's Explain, adding the failure the hook saw when
// err alone (a deadline, an EOF) does not say what is wrong.
func (h *Health) Explain(err error) error {
	if err == nil || hint(err) != "" {
		return Explain(err)
	}
	if cause := h.Err(); cause != nil {
		return fmt.Errorf("%w; last connection failure: %w", err, cause)
	}
	return err
}

// fail records err as the cause and logs it unless it was logged in this
// outage already: a client retrying a wrong password would otherwise log
// it every second. An error without a hint (the bare EOF franz-go gives
// the group once its member's session is lost) does not replace an
// explained cause: it is what that cause looks like from further away.
func (h *Health) fail(err error) {
	h.mu.Lock()
	if hint(err) == "" && hint(h.err) != "" {
		err = h.err
	} else {
		err = Explain(err)
	}
	h.err = err
	h.failing.Store(true)
	msg := err.Error()
	first := !h.logged[msg] && len(h.logged) < maxLogged
	if first {
		h.logged[msg] = true
	}
	h.mu.Unlock()
	if first {
		h.log.Error("cannot reach kafka; retrying", "err", err)
	}
}
