package projector

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// PublicCause is what readiness, which anyone reaching the admin port
// reads, says of a failure (err's text up to its first ": ", then the
// kind of failure): a connection failure by its kind alone, since its text
// names the store's role, database, host and port (the log line has them
// all); a TLS failure by its kind too, since crypto/tls names the host
// and every name of the server's certificate, keeping the hint a wrapper
// added (what to set); anything else, projector's own findings and a
// store's refusals, as it is, but for the parts marked Private and the URL
// of an HTTP request.
func PublicCause(err error) error {
	if err == nil {
		return nil
	}
	label, _, _ := strings.Cut(err.Error(), ": ") // "does not answer", "… at start"
	if kind := tlsFailure(err); kind != "" {
		return fmt.Errorf("%s: TLS: %s (%s)", label, kind, strings.Join(append(hints(err), "the log says more"), "; "))
	}
	if kind := connectionFailure(err); kind != "" {
		return fmt.Errorf("%s: %s (the log says more)", label, kind)
	}
	if msg, scrubbed := withoutAddresses(err); scrubbed {
		return fmt.Errorf("%s (the log says more)", msg)
	}
	return err
}

// connectionFailure is the kind of a failure to reach a store, "" for
// another error.
func connectionFailure(err error) string {
	var connect *pgconn.ConnectError
	var op *net.OpError
	var dns *net.DNSError
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &dns):
		return "host not found"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded):
		return "timed out"
	case errors.As(err, &connect) && errors.As(err, &pgErr):
		return "refused, SQLSTATE " + pgErr.Code
	case errors.As(err, &connect) || errors.As(err, &op):
		return "cannot connect"
	}
	return ""
}

// tlsFailure is the kind of a TLS handshake that failed, "" for another
// error. crypto/tls's own words name hosts ("x509: certificate is valid
// for es-1.prod.internal, not 10.1.2.3"); the kinds name none.
func tlsFailure(err error) string {
	var (
		hostname  x509.HostnameError
		unknownCA x509.UnknownAuthorityError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
		record    tls.RecordHeaderError
		alert     tls.AlertError
		op        *net.OpError
	)
	switch {
	case errors.As(err, &hostname):
		return "the certificate does not name the host"
	case errors.As(err, &unknownCA):
		return "the certificate is not signed by a trusted CA"
	case errors.As(err, &invalid):
		return "the certificate is not valid (expired, not yet valid, or not for this use)"
	case errors.As(err, &verify):
		return "the certificate is not trusted"
	case errors.As(err, &record):
		return "the server does not speak TLS on this port"
	case errors.As(err, &alert):
		return "the server refused the handshake (" + strings.TrimPrefix(alert.Error(), "tls: ") + ")"
	case errors.As(err, &op) && op.Op == "remote error":
		// The alert the server sent, which crypto/tls keeps unexported
		// on the client side: its text is one of the protocol's names.
		return "the server refused the handshake (" + strings.TrimPrefix(op.Err.Error(), "tls: ") + ")"
	}
	return ""
}

// hints are the texts wrappers of err added after it in parentheses, as
// "%w (what to set)" does: projector's own advice, naming settings, never
// hosts.
func hints(err error) []string {
	var out []string
	for e := err; e != nil; e = errors.Unwrap(e) {
		inner := errors.Unwrap(e)
		if inner == nil {
			break
		}
		rest, ok := strings.CutPrefix(e.Error(), inner.Error())
		if ok && strings.HasPrefix(rest, " (") && strings.HasSuffix(rest, ")") {
			out = append(out, rest[len(" ("):len(rest)-1])
		}
	}
	return out
}

// Private returns err, whose text names what the log may show and the
// admin port must not (a URL, a host and its port), with the words
// readiness says in its place: public. errors.Is and errors.As see err.
func Private(err error, public string) error {
	return &privateError{err: err, public: public}
}

type privateError struct {
	err    error
	public string
}

func (e *privateError) Error() string { return e.err.Error() }
func (e *privateError) Unwrap() error { return e.err }

// withoutAddresses is err's text with each Private part in its public
// words and each HTTP request's URL left out (net/http's errors quote it
// whole); scrubbed tells whether it changed anything.
func withoutAddresses(err error) (msg string, scrubbed bool) {
	msg = err.Error()
	for e := err; e != nil; e = errors.Unwrap(e) {
		switch x := e.(type) {
		case *privateError:
			// What it wraps is in the text replaced.
			return strings.Replace(msg, x.Error(), x.public, 1), true
		case *url.Error:
			msg, scrubbed = strings.Replace(msg, x.Error(), x.Op+": "+x.Err.Error(), 1), true
		}
	}
	return msg, scrubbed
}
