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

	"github.com/projectorhq/projector/sinks"
)

// PublicCause is what readiness, which anyone reaching the admin port
// reads, says of a failure (err's text up to its first ": ", then the
// kind of failure): a connection failure by its kind alone, since its text
// names the store's role, database, host and port (the log line has them
// all); a TLS failure by its kind too, since crypto/tls names the host
// and every name of the server's certificate, keeping the hint a wrapper
// added (what to set); a store that answers refusing projector's
// credentials or what they may do as refusing, by its code alone, since
// its words name the role or user (the label a prober gave, "does not
// answer", would be untrue); anything else, projector's own findings and
// a store's answers, as it is, but for the parts marked Private, the URL
// of an HTTP request and the words of a store's answer (storeAnswer).
func PublicCause(err error) error {
	if err == nil {
		return nil
	}
	label, _, _ := strings.Cut(err.Error(), ": ") // "does not answer", "… at start"
	if kind := tlsFailure(err); kind != "" {
		return fmt.Errorf("%s: TLS: %s (%s)", label, kind, strings.Join(append(hints(err), "the log says more"), "; "))
	}
	if kind := refusal(err); kind != "" {
		return fmt.Errorf("refuses projector: %s (the log says more)", kind)
	}
	if kind := connectionFailure(err); kind != "" {
		return fmt.Errorf("%s: %s (the log says more)", label, kind)
	}
	if msg, scrubbed := withoutAddresses(err); scrubbed {
		return fmt.Errorf("%s (the log says more)", msg)
	}
	return err
}

// storeAnswer is an error a store answered with (an Elasticsearch
// *APIError), whose own words may name what the admin port must not show:
// the user and roles of a request refused, an API key's id, a node and
// its address.
type storeAnswer interface {
	error
	Kind() string  // the answer's status and type, naming nothing of the store
	Refused() bool // the store refuses projector's credentials or what they may do
}

// Refuses reports whether err is a store's answer refusing projector
// (see refusal): a prober labels it so, not as a store that does not
// answer.
func Refuses(err error) bool { return refusal(err) != "" }

// refusal is the code of a store's answer refusing projector, "" for
// another error: PostgreSQL refusing the connection (a wrong password, no
// such role or database), Elasticsearch refusing the credentials (401) or
// the request (403). The store answers: it is not down.
func refusal(err error) string {
	var connect *pgconn.ConnectError
	var pgErr *pgconn.PgError
	var answer storeAnswer
	switch {
	case errors.As(err, &connect) && errors.As(err, &pgErr):
		return "SQLSTATE " + pgErr.Code
	case errors.As(err, &answer) && answer.Refused():
		return answer.Kind()
	}
	return ""
}

// connectionFailure is the kind of a failure to reach a store, "" for
// another error.
func connectionFailure(err error) string {
	var connect *pgconn.ConnectError
	var op *net.OpError
	var dns *net.DNSError
	switch {
	case errors.As(err, &dns):
		return "host not found"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded):
		return "timed out"
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
// words, each HTTP request's URL left out (net/http's errors quote it
// whole) and each store's answer said by its kind; scrubbed tells whether
// it changed anything. It looks through every error err wraps, the docs'
// errors of a sinks.BatchError included.
func withoutAddresses(err error) (msg string, scrubbed bool) {
	msg = err.Error()
	replace := func(text, public string) {
		if strings.Contains(msg, text) {
			msg, scrubbed = strings.ReplaceAll(msg, text, public), true
		}
	}
	var walk func(e error)
	walk = func(e error) {
		switch x := e.(type) {
		case nil:
			return
		case *privateError:
			replace(x.Error(), x.public)
			return // what it wraps is in the text replaced
		case storeAnswer:
			replace(x.Error(), x.Kind())
			return
		case *sinks.BatchError:
			for _, why := range x.Failed {
				walk(why)
			}
			return
		case *url.Error:
			replace(x.Error(), x.Op+": "+x.Err.Error())
		}
		switch x := e.(type) {
		case interface{ Unwrap() error }:
			walk(x.Unwrap())
		case interface{ Unwrap() []error }:
			for _, inner := range x.Unwrap() {
				walk(inner)
			}
		}
	}
	walk(err)
	return msg, scrubbed
}
