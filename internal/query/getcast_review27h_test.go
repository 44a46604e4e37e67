package query_test

import (
	"net/http"
	"slices"
	"testing"
)

const r27hTimeIDYAML = `
version: 1
kafka: { brokers: "${BROKERS}", group: r27h-timeid }
stores:
  postgres: { url: "${PG}" }
sources:
  orders:
    topic: app.public.orders
    key: id
    columns: { id: bigint, status: text, created_at: timestamptz, day: date }
  users:
    topic: app.public.users
    key: id
    columns: { id: text, name: text }
  lines:
    topic: app.public.lines
    key: [order_id, line]
    columns: { order_id: bigint, line: integer }
views:
  by_time:
    from: orders
    group_by: created_at
    fields: { created_at: created_at, n: { agg: count } }
    sinks:
      postgres: { table: r27h_by_time }
  by_day:
    from: orders
    group_by: day
    fields: { day: day, n: { agg: count } }
    sinks:
      postgres: { table: r27h_by_day }
`

// TestR27hGetIDPostgresCannotCast: doc.go promises that each id value is
// checked against its field's type, 400 when it does not fit, and 500
// only for the server's own failures (logged). parseValue accepts the
// year 0 (Go's time package has one), which PostgreSQL's date and
// timestamp types do not: the get binds it, PostgreSQL answers 22008
// "date/time field value out of range", and Get (get.go) turns that into
// a 500 internal error, logged at error level on every such request. A
// list with the same value as a filter answers 400 bad_value
// (listError); a get must answer 400 bad_id (or 404) too.
func TestR27hGetIDPostgresCannotCast(t *testing.T) {
	s := newShop(t, shopOptions{yaml: r27hTimeIDYAML, topics: topics})
	s.order(1, row{"status": "paid", "created_at": "2024-05-01T10:00:00Z", "day": 19844})
	s.caughtUp()
	for _, c := range []struct {
		path string
		want []int
	}{
		{"/v1/views/by_time/docs/2024-05-01T10:00:00Z", []int{http.StatusOK}},                    // sanity: the doc is there
		{"/v1/views/by_time/docs?created_at=0000-01-01T00:00:00Z", []int{http.StatusBadRequest}}, // a list answers 400
		{"/v1/views/by_time/docs/0000-01-01T00:00:00Z", []int{http.StatusBadRequest, http.StatusNotFound}},
		{"/v1/views/by_day/docs/0000-01-01", []int{http.StatusBadRequest, http.StatusNotFound}},
	} {
		status, body := s.get(c.path)
		if !slices.Contains(c.want, status) {
			t.Errorf("GET %s: %d %v; want %v (the id does not fit its type: 400, or no such doc: 404)", c.path, status, body, c.want)
		}
	}
}
