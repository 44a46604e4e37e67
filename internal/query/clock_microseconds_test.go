package query_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

const clockYAML = `
version: 1
kafka: { brokers: "localhost:1", group: lite }
stores:
  postgres: { url: "${PG}" }
sources:
  slots:
    topic: app.public.slots
    key: closes
    columns: { closes: time, n: integer }
  ticks:
    topic: app.public.ticks
    key: at
    columns: { at: timestamptz, n: integer }
views:
  slots:
    from: slots
    fields: { closes: closes, n: n }
    sinks:
      postgres: { table: slots }
  ticks:
    from: ticks
    fields: { at: at, n: n }
    sinks:
      postgres: { table: ticks }
`

// TestTimeFilterFinerThanAMicrosecond: a filter on a time of day finer
// than the microseconds the stores hold is taken to the microseconds it
// lies between, as a timestamp's is, up to the end of the day (24:00:00);
// equality with it matches nothing.
func TestTimeFilterFinerThanAMicrosecond(t *testing.T) {
	l := newLite(t, clockYAML, `CREATE TABLE slots (closes time PRIMARY KEY, n integer)`,
		`CREATE TABLE ticks (at timestamptz PRIMARY KEY, n integer)`)
	l.exec(t, `INSERT INTO slots VALUES ('10:00:00', 1), ('10:00:00.000001', 2), ('23:59:59.999999', 3), ('24:00:00', 4)`)
	for _, c := range []struct{ query, want string }{
		{"closes[gt]=23:59:59.9999995", "4"},
		{"closes[gte]=23:59:59.9999995", "4"},
		{"closes[lt]=23:59:59.9999995", "1,2,3"},
		{"closes[lte]=10:00:00.0000015", "1,2"},
		{"closes[gt]=10:00:00.0000015", "3,4"},
		{"closes=10:00:00.0000015", ""},
		{"closes[in]=10:00:00.000001,10:00:00.0000015", "2"},
		{"closes[lte]=10:00:00.000001000", "1,2"},
	} {
		p := "/v1/views/slots/docs?sort=n&" + c.query
		st, body := call(t, l.url, p)
		mustStatus(t, p, st, http.StatusOK, body)
		var got []string
		for _, d := range docs(body) {
			got = append(got, string(d["n"].(json.Number)))
		}
		if strings.Join(got, ",") != c.want {
			t.Errorf("GET %s: docs %v, want [%s]", p, got, c.want)
		}
	}
}

// TestClockIDFinerThanAMicrosecond: a time or timestamp id finer than a
// microsecond names no doc (404), not the doc at a microsecond near it
// (the canonical text cuts a time, PostgreSQL's cast rounds a timestamp).
func TestClockIDFinerThanAMicrosecond(t *testing.T) {
	l := newLite(t, clockYAML, `CREATE TABLE slots (closes time PRIMARY KEY, n integer)`,
		`CREATE TABLE ticks (at timestamptz PRIMARY KEY, n integer)`)
	l.exec(t, `INSERT INTO slots VALUES ('10:00:00', 1)`)
	l.exec(t, `INSERT INTO ticks VALUES ('2024-05-01T10:00:00.000001Z', 1)`)
	for _, c := range []struct {
		path string
		want int
	}{
		{"/v1/views/slots/docs/10:00:00", http.StatusOK},
		{"/v1/views/slots/docs/10:00:00.0000005", http.StatusNotFound},
		{"/v1/views/ticks/docs/2024-05-01T10:00:00.000001Z", http.StatusOK},
		{"/v1/views/ticks/docs/2024-05-01T10:00:00.0000009Z", http.StatusNotFound},
	} {
		st, body := call(t, l.url, c.path)
		if st != c.want {
			t.Errorf("GET %s: %d %v, want %d", c.path, st, body, c.want)
		}
	}
}
