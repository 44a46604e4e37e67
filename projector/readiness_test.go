package projector_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/projectorhq/projector/projector"
)

// withHint wraps err as kafkautil.Explain and the schema registry do:
// projector's advice after it, in parentheses.
func withHint(err error, hint string) error { return fmt.Errorf("%w (%s)", err, hint) }

// TestPublicCauseSaysTLSFailuresByKind: crypto/tls's words name the host
// dialled and every name of the server's certificate; readiness, read by
// anyone reaching the admin port, says the kind of failure and keeps
// projector's advice, which names settings only.
func TestPublicCauseSaysTLSFailuresByKind(t *testing.T) {
	cert := &x509.Certificate{DNSNames: []string{"kafka-1.prod.internal", "*.prod.internal"}}
	verify := func(err error) error {
		return &tls.CertificateVerificationError{Err: err}
	}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"name mismatch, with a hint",
			withHint(fmt.Errorf("unable to dial: %w", verify(x509.HostnameError{Certificate: cert, Host: "10.1.2.3"})),
				"set kafka.tls.server_name"),
			"unable to dial: TLS: the certificate does not name the host (set kafka.tls.server_name; the log says more)"},
		{"unknown authority",
			fmt.Errorf("view v: get alias: %w", verify(x509.UnknownAuthorityError{Cert: cert})),
			"view v: TLS: the certificate is not signed by a trusted CA (the log says more)"},
		{"expired",
			fmt.Errorf("does not answer: %w", verify(x509.CertificateInvalidError{Cert: cert, Reason: x509.Expired, Detail: "kafka-1.prod.internal"})),
			"does not answer: TLS: the certificate is not valid (expired, not yet valid, or not for this use) (the log says more)"},
		{"other verification failure",
			fmt.Errorf("does not answer: %w", verify(errors.New("x509: kafka-1.prod.internal: policy"))),
			"does not answer: TLS: the certificate is not trusted (the log says more)"},
		{"not TLS on the port",
			fmt.Errorf("unable to dial: %w", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}),
			"unable to dial: TLS: the server does not speak TLS on this port (the log says more)"},
		{"the server's alert",
			fmt.Errorf("unable to dial: %w", &net.OpError{Op: "remote error", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 9093},
				Err: tls.AlertError(42)}),
			"unable to dial: TLS: the server refused the handshake (bad certificate) (the log says more)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := projector.PublicCause(tc.err).Error()
			if got != tc.want {
				t.Errorf("PublicCause(%q)\n = %q\nwant %q", tc.err, got, tc.want)
			}
			for _, host := range []string{"prod.internal", "10.1.2.3"} {
				if strings.Contains(got, host) {
					t.Errorf("names %s: %q", host, got)
				}
			}
		})
	}
}

// TestPublicCauseLeavesPrivatePartsToTheLog: what the log may show and the
// admin port may not, a URL with its host and port, is said in its public
// words; the error is the same for errors.Is.
func TestPublicCauseLeavesPrivatePartsToTheLog(t *testing.T) {
	refused := errors.New("Unauthorized")
	private := projector.Private(fmt.Errorf("schema id 1: https://registry.prod.internal:8081 answered 401: %w", refused),
		"schema id 1: the schema registry answered 401")
	err := fmt.Errorf("schema registry: schema 1: %w", private)
	if !errors.Is(err, refused) {
		t.Errorf("errors.Is does not see through Private: %v", err)
	}
	if !strings.Contains(err.Error(), "registry.prod.internal:8081") {
		t.Errorf("the log's text lost the URL: %q", err)
	}
	got := projector.PublicCause(err).Error()
	if want := "schema registry: schema 1: schema id 1: the schema registry answered 401 (the log says more)"; got != want {
		t.Errorf("PublicCause = %q\nwant %q", got, want)
	}
}

// TestPublicCauseLeavesRequestURLsToTheLog: net/http quotes a request's
// URL whole in its errors.
func TestPublicCauseLeavesRequestURLsToTheLog(t *testing.T) {
	err := fmt.Errorf("schema registry: schema 1: %w", &url.Error{Op: "Get", URL: "https://registry.prod.internal:8081/schemas/ids/1", Err: io.ErrUnexpectedEOF})
	got := projector.PublicCause(err).Error()
	if want := "schema registry: schema 1: Get: unexpected EOF (the log says more)"; got != want {
		t.Errorf("PublicCause = %q\nwant %q", got, want)
	}
}

// TestPublicCauseKeepsFindings: projector's own findings and a store's
// refusals name no address: they are said as they are.
func TestPublicCauseKeepsFindings(t *testing.T) {
	err := errors.New("sink postgres: view widget_view: column name: value too long")
	if got := projector.PublicCause(err); got != err {
		t.Errorf("PublicCause = %v, want the error itself", got)
	}
	if projector.PublicCause(nil) != nil {
		t.Error("PublicCause(nil) is not nil")
	}
}
