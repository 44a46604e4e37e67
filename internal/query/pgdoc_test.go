package query_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestPostgresDocsReadAsTheEngineWrote: a doc read from PostgreSQL has its
// times as the engine wrote them, which is how Redis and Elasticsearch
// hold them: RFC 3339 in UTC for timestamps with or without a zone (not
// to_jsonb's "…T22:13:20" and "…+00:00"), a time with 0, 6 or 9 digits.
// A reader gets the same text whichever store answers.
func TestPostgresDocsReadAsTheEngineWrote(t *testing.T) {
	l := newLite(t, `
version: 1
kafka: { brokers: "localhost:1", group: lite }
stores:
  postgres: { url: "${PG}" }
sources:
  shifts:
    topic: app.public.shifts
    key: id
    columns: { id: bigint, starts: timestamp, ends: timestamptz, opens: time, late: timestamptz, note: text }
views:
  shifts:
    from: shifts
    fields: { id: id, starts: starts, ends: ends, opens: opens, late: late, note: note }
    sinks:
      postgres: { table: shifts }
`, `CREATE TABLE shifts (id bigint PRIMARY KEY, starts timestamp, ends timestamptz, opens time, late timestamptz, note text)`,
		`SET TIME ZONE 'Europe/Paris'`)
	l.exec(t, `INSERT INTO shifts VALUES (1, '2023-11-14 22:13:20.5', '2023-11-14 23:13:20+01', '10:15:30.5', 'infinity', 'Ann <a&b>')`)
	want := map[string]string{"starts": "2023-11-14T22:13:20.5Z", "ends": "2023-11-14T22:13:20Z", "opens": "10:15:30.500000", "late": "infinity"}
	check := func(what string, doc map[string]any) {
		t.Helper()
		for k, w := range want {
			if doc[k] != w {
				t.Errorf("%s: %s = %v, want %q", what, k, doc[k], w)
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
	// Written again, the rest of the doc reads as it did: no \u003c for <.
	if st, raw := callRaw(t, l.url, "/v1/views/shifts/docs/1"); st != http.StatusOK || !strings.Contains(raw, `"Ann <a&b>"`) {
		t.Errorf("get: %d %s, want the note as written", st, raw)
	}
}
