package projector_test

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
	"github.com/projectorhq/projector/sinks/elasticsearch"
)

// TestPublicCauseSaysRefusalsByCode: a store that answers refusing
// projector is said to refuse it, by its code alone: its words name the
// user, its roles, an API key's id (the log keeps them).
func TestPublicCauseSaysRefusalsByCode(t *testing.T) {
	probed := func(err error) error { // as the stores' probe reports it
		return fmt.Errorf("does not answer: %w", fmt.Errorf("elasticsearch: get alias items: %w", err))
	}
	for _, tc := range []struct {
		name    string
		err     error
		want    string
		private []string
	}{
		{"a user not authenticated",
			probed(&elasticsearch.APIError{Status: 401, Type: "security_exception",
				Reason: "unable to authenticate user [orders_writer] for REST request [/_alias/items]"}),
			"refuses projector: 401 security_exception (the log says more)", []string{"orders_writer", "_alias"}},
		{"an API key without the privilege",
			probed(&elasticsearch.APIError{Status: 403, Type: "security_exception",
				Reason: "action [indices:admin/aliases/get] is unauthorized for API key id [VuaCfGcBCdbkQm-e5aOx] of user [orders_writer] with effective roles [reader] on indices [items]"}),
			"refuses projector: 403 security_exception (the log says more)", []string{"VuaCfGcBCdbkQm-e5aOx", "orders_writer", "reader"}},
		{"a proxy in front, in its own words",
			fmt.Errorf("elasticsearch: bulk: %w", &elasticsearch.APIError{Status: 403, Type: "Forbidden",
				Reason: `{"Message":"User: arn:aws:iam::123456789012:user/orders is not authorized to perform: es:ESHttpPost"}`}),
			"refuses projector: 403 Forbidden (the log says more)", []string{"arn:aws", "123456789012"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := projector.PublicCause(tc.err).Error()
			if got != tc.want {
				t.Errorf("PublicCause(%q)\n = %q\nwant %q", tc.err, got, tc.want)
			}
			for _, s := range tc.private {
				if !strings.Contains(tc.err.Error(), s) {
					t.Errorf("the log's text lost %q: %q", s, tc.err)
				}
			}
		})
	}
}

// TestPublicCauseSaysPostgresRefusalByCode: PostgreSQL refusing the
// connection is said as Elasticsearch's refusal is, by its SQLSTATE,
// without the role it names.
func TestPublicCauseSaysPostgresRefusalByCode(t *testing.T) {
	u, err := url.Parse(testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	const role = "no_such_role_refused"
	u.User = url.UserPassword(role, "pw")
	conn, err := pgconn.Connect(t.Context(), u.String())
	if err == nil {
		_ = conn.Close(t.Context())
		t.Fatalf("premise: PostgreSQL took role %s", role)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		t.Fatalf("premise: %v is no refusal", err)
	}
	got := projector.PublicCause(fmt.Errorf("does not answer: %w", err)).Error()
	if want := "refuses projector: SQLSTATE " + pgErr.Code + " (the log says more)"; got != want {
		t.Errorf("PublicCause = %q\nwant %q", got, want)
	}
}

// TestPublicCauseSaysStoreAnswersByKind: Elasticsearch's other answers
// name nodes and their addresses; each is said by its status and type,
// wherever it is, a doc's error in a batch's included, and the rest of
// the text stays.
func TestPublicCauseSaysStoreAnswersByKind(t *testing.T) {
	rejected := &elasticsearch.APIError{Status: 429, Type: "es_rejected_execution_exception",
		Reason: "rejected execution of TimedRunnable on EsThreadPoolExecutor[name = es-data-1.prod.internal/write, queue capacity = 10000]"}
	disconnected := &elasticsearch.APIError{Status: 503, Type: "node_disconnected_exception",
		Reason: "[es-data-2][10.1.2.3:9300][indices:data/write/bulk[s]] disconnected"}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"a probe",
			fmt.Errorf("does not answer: %w", fmt.Errorf("elasticsearch: get alias items: %w", disconnected)),
			"does not answer: elasticsearch: get alias items: 503 node_disconnected_exception (the log says more)"},
		{"the docs of a batch",
			&sinks.BatchError{Failed: map[int]error{
				0: fmt.Errorf("%w after 3 attempts: %w", elasticsearch.ErrUnavailable, rejected),
				1: fmt.Errorf("%w after 3 attempts: %w", elasticsearch.ErrUnavailable, rejected),
			}},
			"2 docs of the batch failed; #0: elasticsearch: cluster unavailable after 3 attempts: 429 es_rejected_execution_exception; " +
				"#1: elasticsearch: cluster unavailable after 3 attempts: 429 es_rejected_execution_exception (the log says more)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := projector.PublicCause(tc.err).Error()
			if got != tc.want {
				t.Errorf("PublicCause(%q)\n = %q\nwant %q", tc.err, got, tc.want)
			}
			for _, s := range []string{"es-data-1", "es-data-2", "10.1.2.3"} {
				if strings.Contains(got, s) {
					t.Errorf("names %s: %q", s, got)
				}
			}
		})
	}
}
