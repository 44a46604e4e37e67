package stack

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/kafkautil"
	"github.com/projectorhq/projector/projector"
)

// schemaRegistry adapts franz-go's schema registry client to the engine:
// an id the registry does not have is a bad record (ErrSchemaNotFound);
// anything else is an outage the engine retries.
type schemaRegistry struct {
	cl  *sr.Client
	url string // without credentials
}

// NewSchemaRegistry connects to a Confluent-compatible registry; nil when
// the configuration names none.
func NewSchemaRegistry(c config.SchemaRegistry) (projector.SchemaRegistry, error) {
	if c.URL == "" {
		return nil, nil
	}
	base, user, pass, err := registryURL(c)
	if err != nil {
		return nil, err
	}
	opts := []sr.ClientOpt{sr.URLs(base)}
	if user != "" || pass != "" {
		opts = append(opts, sr.BasicAuth(user, pass))
	}
	if c.TLS.On() {
		tc, err := kafkautil.TLSConfig(c.TLS, "kafka.schema_registry.tls")
		if err != nil {
			return nil, fmt.Errorf("schema registry: %w", err)
		}
		opts = append(opts, sr.DialTLSConfig(tc))
	}
	cl, err := sr.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("schema registry: %w", err)
	}
	return &schemaRegistry{cl: cl, url: base}, nil
}

// registryURL takes the credentials out of the registry's URL: sr quotes
// the URL in every error, which the engine logs while it retries. Those
// written as username and password win over the URL's, as for
// Elasticsearch.
func registryURL(c config.SchemaRegistry) (base, user, pass string, err error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		// The parser's message quotes the URL: say only that it is wrong.
		return "", "", "", errors.New("schema registry: kafka.schema_registry.url is not a valid URL")
	}
	user, pass = c.Username, string(c.Password)
	if u.User != nil {
		if user == "" && pass == "" {
			user = u.User.Username()
			pass, _ = u.User.Password()
		}
		u.User = nil
	}
	return u.String(), user, pass, nil
}

func (r *schemaRegistry) SchemaByID(ctx context.Context, id int) (string, error) {
	s, err := r.cl.SchemaByID(ctx, id)
	if err == nil {
		return s.Schema, nil
	}
	var re *sr.ResponseError
	if !errors.As(err, &re) {
		return "", explainRegistry(err)
	}
	switch re.StatusCode {
	case http.StatusNotFound:
		// Only the registry's own "schema not found" (40403) condemns the
		// record. A 404 without it is a proxy or a path that is not a
		// registry's: dead-lettering every Avro record for it would lose
		// them all, so it is retried as an outage, saying so.
		if re.ErrorCode == 40403 {
			return "", fmt.Errorf("schema id %d: %w", id, projector.ErrSchemaNotFound)
		}
		const why = "answered 404 without a schema registry's error (is kafka.schema_registry.url a registry's?)"
		return "", r.private(id, why, err)
	case http.StatusUnauthorized, http.StatusForbidden:
		// The body's message alone ("Unauthorized") does not say that it
		// is projector's credentials that are refused. Still an outage:
		// retried until they are fixed, never skipped.
		why := fmt.Sprintf("answered %d %s: the registry refuses projector's credentials (check kafka.schema_registry.username and password, or the credentials in kafka.schema_registry.url)",
			re.StatusCode, http.StatusText(re.StatusCode))
		return "", r.private(id, why, err)
	}
	return "", err
}

// private is the registry's answer to schema id, why it is not one, with
// the registry's URL and the body's message for the log; readiness, which
// anyone reaching the admin port reads, says why without them
// (projector.PublicCause): the URL names the registry's host and port.
func (r *schemaRegistry) private(id int, why string, err error) error {
	return projector.Private(fmt.Errorf("schema id %d: %s %s: %w", id, r.url, why, err),
		fmt.Sprintf("schema id %d: the schema registry %s", id, why))
}

// explainRegistry adds what to change to a registry's certificate that
// cannot be verified, which is retried forever like an outage otherwise.
func explainRegistry(err error) error {
	var (
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
	)
	switch {
	case errors.As(err, &unknownCA):
		return fmt.Errorf("%w (the registry's certificate is not signed by a CA projector trusts: set kafka.schema_registry.tls.ca_cert)", err)
	case errors.As(err, &hostname):
		return fmt.Errorf("%w (the registry's certificate does not name the host of kafka.schema_registry.url: set kafka.schema_registry.tls.server_name)", err)
	}
	return err
}
