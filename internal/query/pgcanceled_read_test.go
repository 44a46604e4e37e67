package query_test

import (
	"context"
	"net/http"
	"testing"
)

const heldEventsYAML = `
version: 1
kafka: { brokers: "localhost:1", group: lite }
stores:
  postgres: { url: "${PG}" }
sources:
  events:
    topic: app.public.events
    key: id
    columns: { id: bigint, name: text }
views:
  events:
    from: events
    fields: { id: id, name: name }
    sinks:
      postgres: { table: events }
`

// holdEvents takes the events table as a swap or an ADD COLUMN does,
// until the test ends.
func holdEvents(t *testing.T, l *lite) {
	t.Helper()
	ctx := context.Background()
	tx, err := l.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(ctx) })
	if _, err := tx.Exec(ctx, `LOCK TABLE events IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
}

// TestReadCanceledByPostgresIsATimeout: a list or get PostgreSQL cancels
// under the database's statement_timeout (here while it waits for a held
// table) answers 503 timeout, as a read out of the request's own time
// does.
func TestReadCanceledByPostgresIsATimeout(t *testing.T) {
	l := newLite(t, heldEventsYAML, `CREATE TABLE events (id bigint PRIMARY KEY, name text)`,
		`INSERT INTO events VALUES (1, 'a')`,
		`DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET statement_timeout = %L', current_database(), '200ms'); END $$`)
	holdEvents(t, l)
	for _, p := range []string{"/v1/views/events/docs?sort=name", "/v1/views/events/docs/1"} {
		st, body := call(t, l.url, p)
		if st != http.StatusServiceUnavailable || body["code"] != "timeout" {
			t.Errorf("GET %s canceled by statement_timeout: %d %v, want 503 timeout", p, st, body)
		}
	}
}

// TestReadPastLockTimeoutIsUnavailable: a list or get that waits for the
// view's table past the database's lock_timeout, while a swap or an ADD
// COLUMN holds it, answers 503 store_unavailable: a retry reads.
func TestReadPastLockTimeoutIsUnavailable(t *testing.T) {
	l := newLite(t, heldEventsYAML, `CREATE TABLE events (id bigint PRIMARY KEY, name text)`,
		`INSERT INTO events VALUES (1, 'a')`,
		`DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET lock_timeout = %L', current_database(), '100ms'); END $$`)
	holdEvents(t, l)
	for _, p := range []string{"/v1/views/events/docs?sort=name", "/v1/views/events/docs/1"} {
		st, body := call(t, l.url, p)
		if st != http.StatusServiceUnavailable || body["code"] != "store_unavailable" {
			t.Errorf("GET %s past lock_timeout: %d %v, want 503 store_unavailable", p, st, body)
		}
	}
}
