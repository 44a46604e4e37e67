package esfake

import (
	"net/http"
	"strings"
	"testing"
)

// TestR32fDateBoundsRoundUpMissingComponents: Elasticsearch fills the date
// components a bound leaves out when it parses it rounding up, which it does
// for gt and lte bounds, and for the upper end of the range a term query on a
// date field is (DateFieldType.termQuery is rangeQuery(v, v, true, true)):
// "If a format or date value is incomplete, the range query replaces any
// missing components with default values" — HOUR_OF_DAY 23, MINUTE_OF_HOUR
// 59, SECOND_OF_MINUTE 59, NANO_OF_SECOND 999_999_999
// (https://www.elastic.co/guide/en/elasticsearch/reference/current/query-dsl-range-query.html#missing-date-components;
// DateFieldMapper.dateRangeQuery parses the lower bound with roundUp =
// !includeLower and the upper with roundUp = includeUpper, through
// JavaDateFormatter's round-up parser, DEFAULT_ROUND_UP).
//
// So on a date field "2026-03-01T10:00:00Z" with no fraction is, as an upper
// bound or a gt bound, 10:00:00.999: lte and term take a doc at
// 10:00:00.500, and gt leaves it out. esfake parses every bound exactly
// (dateMillis), so it answers a whole-second bound as if its fraction were
// .000, and a client that sends such bounds is never told it asks for
// something else from the real server.
func TestR32fDateBoundsRoundUpMissingComponents(t *testing.T) {
	f := start(t)
	f.must(t, http.MethodPut, "/r32f", `{"mappings":{"properties":{"at":{"type":"date"}}}}`)
	f.must(t, http.MethodPost, "/_bulk?refresh=true", `{"index":{"_index":"r32f","_id":"t0"}}
{"at":"2026-03-01T10:00:00Z"}
{"index":{"_index":"r32f","_id":"t5"}}
{"at":"2026-03-01T10:00:00.500Z"}
{"index":{"_index":"r32f","_id":"t1"}}
{"at":"2026-03-01T10:00:01Z"}
{"index":{"_index":"r32f","_id":"d2"}}
{"at":"2026-03-02T15:30:00Z"}
`)
	for _, c := range []struct{ name, query, want string }{
		{"term whole second", `{"term":{"at":"2026-03-01T10:00:00Z"}}`, "t0,t5"},
		{"terms whole second", `{"terms":{"at":["2026-03-01T10:00:00Z"]}}`, "t0,t5"},
		{"lte whole second", `{"range":{"at":{"lte":"2026-03-01T10:00:00Z"}}}`, "t0,t5"},
		{"gt whole second", `{"range":{"at":{"gt":"2026-03-01T10:00:00Z"}}}`, "d2,t1"},
		{"gte whole second (rounded down)", `{"range":{"at":{"gte":"2026-03-01T10:00:00Z"}}}`, "d2,t0,t1,t5"},
		{"lt whole second (rounded down)", `{"range":{"at":{"lt":"2026-03-01T10:00:01Z"}}}`, "t0,t5"},
		{"explicit millis are exact", `{"range":{"at":{"lte":"2026-03-01T10:00:00.000Z"}}}`, "t0"},
		{"term on a day", `{"term":{"at":"2026-03-02"}}`, "d2"},
	} {
		got := strings.Join(sortedIDs(t, f, "/r32f/_search", `{"query":`+c.query+`}`), ",")
		if got != c.want {
			t.Errorf("%s: %s found [%s], Elasticsearch finds [%s]", c.name, c.query, got, c.want)
		}
	}
}
