package query_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func r17rDecode(t *testing.T, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return m
}

// r17rSlimYAML: one source projected into a PostgreSQL-only view and into
// views whose Redis sink keeps every field but the id (fields: [status,
// total]), JSON and hash, with and without a PostgreSQL sink.
const r17rSlimYAML = `
version: 1
kafka: { brokers: "${BROKERS}", group: r17r-slim }
stores:
  postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }
sources:
  items:
    topic: app.public.items
    key: id
    columns: { id: bigint, status: text, total: "numeric(10,2)" }
views:
  s_pg:
    from: items
    fields: &f { id: id, status: status, total: total }
    sinks:
      postgres: { table: s_pg }
  s_pgr:
    from: items
    fields: *f
    sinks:
      postgres: { table: s_pgr }
      redis: { key: "${PREFIX}pgr:{id}", fields: [status, total] }
  s_pgh:
    from: items
    fields: *f
    sinks:
      postgres: { table: s_pgh }
      redis: { key: "${PREFIX}pgh:{id}", format: hash, fields: [status, total] }
  s_h:
    from: items
    fields: *f
    sinks:
      redis: { key: "${PREFIX}h:{id}", format: hash, fields: [status, total] }
  s_r:
    from: items
    fields: *f
    sinks:
      redis: { key: "${PREFIX}r:{id}", fields: [status, total] }
`

// TestR17rGetSlimRedisWithoutIDLosesID: README "One document, whichever
// store answers" and "A Redis sink that keeps some fields only (fields:)
// is not read for a get when the view has a PostgreSQL sink, which holds
// the whole document". catalog.go's whole() counts a Redis sink keeping
// every field but the id as whole ("the id fields, which its key gives
// back"), so the get reads Redis; but nothing gives the id back: the doc
// comes without its id, where PostgreSQL's has it.
func TestR17rGetSlimRedisWithoutIDLosesID(t *testing.T) {
	f := &fidelity{newShop(t, shopOptions{yaml: r17rSlimYAML, topics: fidelityTopics})}
	f.put(1, row{"status": "paid", "total": "12.50"})
	f.wait()
	st, want := callRaw(t, f.http.URL, "/v1/views/s_pg/docs/1")
	if st != http.StatusOK {
		t.Fatalf("s_pg: %d %s", st, want)
	}
	for _, v := range []string{"s_pgr", "s_pgh"} {
		st, got := callRaw(t, f.http.URL, "/v1/views/"+v+"/docs/1")
		if st != http.StatusOK || !reflect.DeepEqual(r17rDecode(t, got), r17rDecode(t, want)) {
			t.Errorf("GET /v1/views/%s/docs/1 = %d %s, want %s as the PostgreSQL sink of the same view holds it", v, st, got, want)
		}
	}
}
