package query_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

const r36cShiftsYAML = `
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

// TestR36CTimeFilterBelowMicrosecond: a filter on a `time` field with a
// fraction finer than a microsecond compares another time than the one
// asked for. fieldvalue.Parse (internal/fieldvalue/fieldvalue.go, case
// "time") canonicalizes it through debezium.TimeOfDay.String, which cuts
// the fraction to microseconds (debezium/values.go appendTo: ns/1000), so
// closes=10:00:00.0000005 becomes closes=10:00:00.000000 and finds the doc
// closing at 10:00:00, an earlier time; closes[gte]=10:00:00.0000005 takes
// that doc although it is before the bound, and closes[lt] misses it
// although it is before. The same fault was fixed for timestamps
// (filter.go toMicroseconds; README: "a list's timestamp filter finer than
// a microsecond is taken to the microseconds it lies between … at=…
// matches nothing, as no store holds a finer one"), but toMicroseconds
// only looks at timestamp and timestamptz fields.
func TestR36CTimeFilterBelowMicrosecond(t *testing.T) {
	l := newLite(t, r36cShiftsYAML, `CREATE TABLE shifts (id bigint PRIMARY KEY, closes time)`)
	l.exec(t, `INSERT INTO shifts VALUES (1, '10:00:00'), (2, '10:00:00.000001')`)
	for _, c := range []struct{ path, want string }{
		{"/v1/views/shifts/docs?closes=10:00:00.0000005", ""},
		{"/v1/views/shifts/docs?closes[gt]=10:00:00.0000005", "2"},
		{"/v1/views/shifts/docs?closes[gte]=10:00:00.0000005", "2"},
		{"/v1/views/shifts/docs?closes[lt]=10:00:00.0000005", "1"},
		{"/v1/views/shifts/docs?closes[lte]=10:00:00.0000005", "1"},
		{"/v1/views/shifts/docs?closes[in]=10:00:00.0000005,09:00:00", ""},
	} {
		st, body := call(t, l.url, c.path)
		mustStatus(t, c.path, st, http.StatusOK, body)
		var got []string
		for _, d := range docs(body) {
			got = append(got, string(d["id"].(json.Number)))
		}
		if strings.Join(got, ",") != c.want {
			t.Errorf("GET %s: ids %v, want [%s] (doc 1 closes at 10:00:00, doc 2 at 10:00:00.000001)", c.path, got, c.want)
		}
	}
}
