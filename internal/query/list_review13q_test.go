package query_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/cli"
	"github.com/projectorhq/projector/internal/testenv"
)

const r13qEventsYAML = `
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

const r13qEventsDDL = `CREATE TABLE events (id bigint PRIMARY KEY, at timestamptz, "limit" integer, name text)`

// TestR13qTimestampRangeBelowMicrosecond: a timestamptz filter value is
// parsed as RFC 3339 with up to nine fraction digits (values.go
// parseValue keeps them all), bound as text and cast to timestamptz, which
// rounds it to microseconds (…00.0000005Z becomes …00.000000Z): at= then
// matches the doc at …00.000000Z, whose time is another, at[gte] finds it
// too, and at[lt] misses it although it is before the bound. The filter
// compares a different value from the one asked for (numeric avoids this
// by casting to unconstrained numeric; timestamps have no such type).
func TestR13qTimestampRangeBelowMicrosecond(t *testing.T) {
	l := newLite(t, r13qEventsYAML, r13qEventsDDL)
	l.exec(t, `INSERT INTO events VALUES (1, '2024-01-01T00:00:00.000001Z', 1, 'a'), (2, '2024-01-01T00:00:00Z', 2, 'b')`)
	for _, c := range []struct {
		path string
		want string
	}{
		{"/v1/views/events/docs?at[gt]=2024-01-01T00:00:00.0000005Z", "1"},
		{"/v1/views/events/docs?at[lte]=2024-01-01T00:00:00.0000005Z", "2"},
		{"/v1/views/events/docs?at[gte]=2024-01-01T00:00:00.0000005Z", "1"},
		{"/v1/views/events/docs?at[lt]=2024-01-01T00:00:00.0000005Z", "2"},
		{"/v1/views/events/docs?at=2024-01-01T00:00:00.0000005Z", ""},
	} {
		st, body := call(t, l.url, c.path)
		mustStatus(t, c.path, st, http.StatusOK, body)
		var got []string
		for _, d := range docs(body) {
			got = append(got, string(d["id"].(json.Number)))
		}
		if strings.Join(got, ",") != c.want {
			t.Errorf("GET %s: ids %v, want [%s] (doc 1 is at .000001, doc 2 at .000000)", c.path, got, c.want)
		}
	}
}

// TestR13qCLIWhereReservedName: `projector query --where FIELD=VALUE`
// is a filter. For a field named like a reserved parameter (limit, here a
// column of the view) the CLI passes it on as ?limit=3, which is the page
// size, not the filter: every doc comes back instead of those whose limit
// is 3. The API documents [eq] for such fields; --where limit=3 should
// filter (or at least be refused), never silently mean something else.
func TestR13qCLIWhereReservedName(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	for _, q := range []string{r13qEventsDDL, `INSERT INTO events VALUES (1, now(), 3, 'a'), (2, now(), 5, 'b'), (3, now(), 7, 'c'), (4, now(), 9, 'd')`} {
		if _, err := pool.Exec(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	yaml := strings.Replace(r13qEventsYAML, "${PG}", pgURL, 1)
	file := filepath.Join(t.TempDir(), "projector.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := cli.Main(context.Background(), []string{"query", "-c", file, "events", "--where", "limit=3"}, &out, &errOut)
	var page struct {
		Docs []map[string]any `json:"docs"`
	}
	_ = json.Unmarshal(out.Bytes(), &page)
	switch code {
	case 0:
		if len(page.Docs) != 1 || page.Docs[0]["limit"] != float64(3) {
			t.Errorf("query events --where limit=3: exit 0 with %d docs, want only the doc whose limit is 3:\n%s", len(page.Docs), out.String())
		}
	case 2:
	default:
		t.Errorf("exit %d: %s", code, errOut.String())
	}
}
