package query_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

const r13qTicksYAML = `
version: 1
kafka: { brokers: "localhost:1", group: lite }
stores:
  postgres: { url: "${PG}" }
  elasticsearch: { url: "${ES}" }
sources:
  ticks:
    topic: app.public.ticks
    key: id
    columns: { id: bigint, at: timestamptz, name: text }
views:
  ticks:
    from: ticks
    fields: { id: id, at: at, name: name }
    sinks:
      elasticsearch: { index: ticks }
`

func r13qIDs(body map[string]any) string {
	var got []string
	for _, d := range docs(body) {
		switch id := d["id"].(type) {
		case json.Number:
			got = append(got, id.String())
		default:
			got = append(got, "?")
		}
	}
	return strings.Join(got, ",")
}

// TestR13qSearchSortTimestampMicroseconds: the engine writes timestamps
// with microseconds, and Elasticsearch's date fields keep milliseconds:
// search compares them at that precision, as the README says ("two
// timestamps in the same millisecond are equal and tie, broken by id").
func TestR13qSearchSortTimestampMicroseconds(t *testing.T) {
	base := esLite(t, r13qTicksYAML, "ticks", `{"id":{"type":"long"},"at":{"type":"date","ignore_malformed":true},"name":{"type":"text","fields":{"keyword":{"type":"keyword","ignore_above":256}}}}`,
		`{"index":{"_index":"ticks","_id":"1"}}
{"id":1,"at":"2024-01-01T00:00:00.0009Z","name":"later"}
{"index":{"_index":"ticks","_id":"2"}}
{"id":2,"at":"2024-01-01T00:00:00.0001Z","name":"earlier"}
{"index":{"_index":"ticks","_id":"3"}}
{"id":3,"at":"2024-01-01T00:00:00.0011Z","name":"next millisecond"}
`)
	for _, c := range []struct{ path, want string }{
		{"/v1/views/ticks/search?sort=at", "1,2,3"},
		{"/v1/views/ticks/search?sort=-at", "3,2,1"},
		{"/v1/views/ticks/search?at=2024-01-01T00:00:00.0009Z&sort=at", "1,2"},
		{"/v1/views/ticks/search?at[gt]=2024-01-01T00:00:00.0005Z", "3"},
	} {
		st, body := call(t, base, c.path)
		mustStatus(t, c.path, st, http.StatusOK, body)
		if got := r13qIDs(body); got != c.want {
			t.Errorf("GET %s: ids [%s], want [%s] (docs 1 and 2 in the same millisecond, 3 in the next)", c.path, got, c.want)
		}
	}
}

// TestR13qSearchFacetSizeWithoutFacets: README: "q, facets, limit, offset
// and facet_size are given once ...; a repeat is a 400". facet_size is
// parsed (esFacets) only when facets is given: without it a repeated or
// out-of-range facet_size is silently ignored (200), unlike limit and
// offset, which are checked whether or not they matter.
func TestR13qSearchFacetSizeWithoutFacets(t *testing.T) {
	base := esLite(t, r13qTicksYAML, "ticks", `{"id":{"type":"long"},"at":{"type":"date","ignore_malformed":true},"name":{"type":"text","fields":{"keyword":{"type":"keyword","ignore_above":256}}}}`,
		`{"index":{"_index":"ticks","_id":"1"}}
{"id":1,"at":"2024-01-01T00:00:00Z","name":"one"}
`)
	for _, p := range []string{"/v1/views/ticks/search?facet_size=1&facet_size=2", "/v1/views/ticks/search?facet_size=0", "/v1/views/ticks/search?facet_size=many"} {
		st, body := call(t, base, p)
		if st != http.StatusBadRequest || body["param"] != "facet_size" {
			t.Errorf("GET %s: %d %v, want 400 on facet_size", p, st, body)
		}
	}
}
