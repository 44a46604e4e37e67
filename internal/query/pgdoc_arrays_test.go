package query_test

import (
	"net/http"
	"testing"
)

// TestPostgresDocsArraysOfTimesReadAsTheEngineWrote: the engine
// writes a timestamp[] or timestamptz[] column's items as it writes a
// timestamp (RFC 3339 in UTC, "2023-11-14T22:13:20.5Z"), and Redis and
// Elasticsearch hold them so; read from PostgreSQL they must be the same,
// not to_jsonb's "2023-11-14T22:13:20.5" and "…+01:00".
func TestPostgresDocsArraysOfTimesReadAsTheEngineWrote(t *testing.T) {
	l := newLite(t, `
version: 1
kafka: { brokers: "localhost:1", group: lite }
stores:
  postgres: { url: "${PG}" }
sources:
  shifts:
    topic: app.public.shifts
    key: id
    columns: { id: bigint, starts: "timestamp[]", ends: "timestamptz[]" }
views:
  shifts:
    from: shifts
    fields: { id: id, starts: starts, ends: ends }
    sinks:
      postgres: { table: shifts }
`, `CREATE TABLE shifts (id bigint PRIMARY KEY, starts timestamp[], ends timestamptz[])`,
		`SET TIME ZONE 'Europe/Paris'`)
	l.exec(t, `INSERT INTO shifts VALUES (1, '{"2023-11-14 22:13:20.5"}', '{"2023-11-14 23:13:20.5+01"}')`)
	want := "2023-11-14T22:13:20.5Z"
	check := func(what string, doc map[string]any) {
		t.Helper()
		for _, k := range []string{"starts", "ends"} {
			items, _ := doc[k].([]any)
			if len(items) != 1 || items[0] != want {
				t.Errorf("%s: %s = %v, want [%q] as the engine wrote it", what, k, doc[k], want)
			}
		}
	}
	st, body := call(t, l.url, "/v1/views/shifts/docs/1")
	if st != http.StatusOK {
		t.Fatalf("get: %d %v", st, body)
	}
	check("get", body)
	st, body = call(t, l.url, "/v1/views/shifts/docs")
	if st != http.StatusOK || len(docs(body)) != 1 {
		t.Fatalf("list: %d %v", st, body)
	}
	check("list", docs(body)[0])
}
