package query_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/query"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// esLite is a query server over a view searched in esfake, its index
// filled by hand with docs as the engine writes them.
func esLite(t *testing.T, yaml string, index, mappings string, bulk string) string {
	t.Helper()
	es := esfake.New()
	es.Start()
	t.Cleanup(es.Close)
	pgURL := testenv.PostgresURL(t)
	env := map[string]string{"PG": pgURL, "ES": es.URL()}
	cfg, err := config.Parse("es.yaml", []byte(yaml), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("config:\n%v", err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatalf("plan:\n%v", err)
	}
	cfg.Kafka.Brokers = nil
	do := func(method, path, body string) {
		req, _ := http.NewRequest(method, es.URL()+path, bytes.NewBufferString(body))
		req.Header.Set("Content-Type", "application/json")
		if path == "/_bulk?refresh=true" {
			req.Header.Set("Content-Type", "application/x-ndjson")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode >= 300 {
			t.Fatalf("%s %s: %d", method, path, res.StatusCode)
		}
	}
	do("PUT", "/"+index+"-g1", `{"mappings":{"properties":`+mappings+`}}`)
	do("POST", "/_aliases", `{"actions":[{"add":{"index":"`+index+`-g1","alias":"`+index+`"}}]}`)
	do("POST", "/_bulk?refresh=true", bulk)
	api, err := query.New(context.Background(), cfg, plan, query.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(api.Close)
	h := httptest.NewServer(api.Handler())
	t.Cleanup(h.Close)
	return h.URL
}

const shiftsYAML = `
version: 1
kafka: { brokers: "localhost:1", group: lite }
stores:
  postgres: { url: "${PG}" }
  elasticsearch: { url: "${ES}" }
sources:
  shifts:
    topic: app.public.shifts
    key: id
    columns: { id: bigint, opens: time, name: text }
views:
  shifts:
    from: shifts
    fields: { id: id, opens: opens, name: name }
    sinks:
      elasticsearch: { index: shifts }
`

// TestSearchTimeFilter: a time field is mapped as keyword and holds the
// engine's text of the value ("10:15:30.500000", debezium.TimeOfDay); a
// search filter matches it however the client writes the time
// ("10:15:30.5"), and ranges compare in time order.
func TestSearchTimeFilter(t *testing.T) {
	base := esLite(t, shiftsYAML, "shifts", `{"id":{"type":"long"},"opens":{"type":"keyword"},"name":{"type":"text"}}`,
		`{"index":{"_index":"shifts","_id":"1"}}
{"id":1,"opens":"10:15:30.500000","name":"morning"}
{"index":{"_index":"shifts","_id":"2"}}
{"id":2,"opens":"18:00:00","name":"evening"}
`)
	for _, path := range []string{"/v1/views/shifts/search?opens=10:15:30.500000", "/v1/views/shifts/search?opens=10:15:30.5",
		"/v1/views/shifts/search?opens[lte]=10:15:30.5"} {
		st, body := call(t, base, path)
		mustStatus(t, path, st, http.StatusOK, body)
		if got := docs(body); len(got) != 1 {
			t.Errorf("GET %s: %d docs, want the shift opening at 10:15:30.500000: %v", path, len(got), body)
		}
	}
	// Sanity: a value without a fraction matches.
	st, body := call(t, base, "/v1/views/shifts/search?opens=18:00:00")
	mustStatus(t, "", st, http.StatusOK, body)
	if len(docs(body)) != 1 {
		t.Fatalf("sanity: %v", body)
	}
}
