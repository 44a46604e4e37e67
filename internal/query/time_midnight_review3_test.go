package query_test

import (
	"net/http"
	"testing"
)

const review3ShiftsYAML = `
version: 1
kafka: { brokers: "localhost:1", group: lite }
stores:
  postgres: { url: "${PG}" }
sources:
  shifts:
    topic: app.public.shifts
    key: id
    columns: { id: bigint, closes: time }
views:
  shifts:
    from: shifts
    fields: { id: id, closes: closes }
    sinks:
      postgres: { table: shifts }
`

// TestReview3TimeFilter2400: PostgreSQL's time holds 24:00:00 and the
// engine writes it as PostgreSQL does (pgdoc.go engineTime); a list reads
// it back as "24:00:00". Filtering on that very value, or bounding a range
// with it, is a 400 bad_value "not a time" (values.go parseValue goes
// through engineTimeOfDay, i.e. Go's time.Parse, whose hours end at 23):
// a value the view holds cannot be asked for.
func TestReview3TimeFilter2400(t *testing.T) {
	l := newLite(t, review3ShiftsYAML, `CREATE TABLE shifts (id bigint PRIMARY KEY, closes time)`)
	l.exec(t, `INSERT INTO shifts VALUES (1, '24:00:00'), (2, '18:00:00')`)
	st, body := call(t, l.url, "/v1/views/shifts/docs?sort=-closes&limit=1")
	mustStatus(t, "sanity", st, http.StatusOK, body)
	if d := docs(body); len(d) != 1 || d[0]["closes"] != "24:00:00" {
		t.Fatalf("sanity: the list reads %v", body)
	}
	for _, p := range []string{"/v1/views/shifts/docs?closes=24:00:00", "/v1/views/shifts/docs?closes[gt]=18:00:00", "/v1/views/shifts/docs?closes[lte]=24:00:00"} {
		st, body := call(t, l.url, p)
		if st != http.StatusOK {
			t.Errorf("GET %s: %d %v; the doc holds closes 24:00:00", p, st, body)
			continue
		}
		if n := len(docs(body)); p != "/v1/views/shifts/docs?closes[lte]=24:00:00" && n != 1 {
			t.Errorf("GET %s: %d docs, want the shift closing at 24:00:00", p, n)
		}
	}
}
