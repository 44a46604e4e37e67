package query_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/query"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
)

const r36cEventsYAML = `
version: 1
kafka: { brokers: "localhost:1", group: lite }
stores:
  postgres: { url: "${PG}" }
sources:
  events:
    topic: app.public.events
    key: id
    columns: { id: bigint, at: timestamptz, limit: integer, name: text }
views:
  events:
    from: events
    fields: { id: id, at: at, limit: limit, name: name }
    sinks:
      postgres: { table: events }
`

// TestR36CStatementTimeoutIsATimeout: a production database commonly
// bounds its reader role's queries (ALTER ROLE … SET statement_timeout).
// A list PostgreSQL cancels so (SQLSTATE 57014, query_canceled) is a read
// that was too slow, which the README answers with 503 `timeout` ("one
// too slow … answers 503 timeout", worth a retry). The API answers 500
// `internal` and logs it as an error: listError (list.go) only knows class
// 22 and the undeployed codes, and storeUnavailable (errors.go) only
// 08xxx and 57P0x, so 57014 falls through to writeError's default.
func TestR36CStatementTimeoutIsATimeout(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	ctx := context.Background()
	for _, q := range []string{
		`CREATE TABLE events_rows (id bigint PRIMARY KEY, at timestamptz, "limit" integer, name text)`,
		`INSERT INTO events_rows VALUES (1, now(), 1, 'a')`,
		// A read that takes 3 s (standing for a large scan): the reader
		// relation sleeps once per statement.
		`CREATE VIEW events AS SELECT r.* FROM events_rows r, (SELECT pg_sleep(3)) s`,
		`DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET statement_timeout = %L', current_database(), '300ms'); END $$`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	env := map[string]string{"PG": pgURL}
	cfg, err := config.Parse("lite.yaml", []byte(r36cEventsYAML), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Kafka.Brokers = nil
	api, err := query.New(ctx, cfg, plan, query.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(api.Close)
	h := httptest.NewServer(api.Handler())
	t.Cleanup(h.Close)
	path := "/v1/views/events/docs?sort=name"
	st, body := call(t, h.URL, path)
	if st != http.StatusServiceUnavailable || body["code"] != "timeout" {
		t.Errorf("GET %s under statement_timeout: %d %v, want 503 timeout", path, st, body)
	}
}
