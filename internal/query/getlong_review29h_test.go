package query_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const r29hGroupsYAML = `
version: 1
kafka: { brokers: "${BROKERS}", group: r29h-groups }
stores:
  postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }
sources:
  orders:
    topic: app.public.orders
    key: id
    columns: { id: bigint, user_id: text, status: text }
views:
  r29h_groups:
    from: orders
    group_by: [user_id, status]
    fields: { user_id: user_id, status: status, n: { agg: count } }
    sinks:
      postgres: { table: r29h_groups }
      redis: { key: "${PREFIX}g:{user_id}:{status}" }
`

// TestR29hGetCompositeIDOfLongGroupValues: a group_by view's id is its
// group_by columns, each of which the engine takes up to 2,048 bytes
// (projector/decode.go maxIndexedText bounds each indexed column on its
// own). A group of two 1,500-byte values is written to PostgreSQL and
// Redis and a list returns it, but its canonical id, the JSON array of
// both values, is over 3,000 bytes: parseID (get.go) refuses any id over
// maxIDBytes = 2,048 bytes as a whole, so GET /docs/{id} answers 400
// bad_id for a doc that both stores hold, where the README promises the
// doc. (cursor.go sizes cursors for exactly such ids: "a composite id has
// several values of up to 2 KB".)
func TestR29hGetCompositeIDOfLongGroupValues(t *testing.T) {
	s := newShop(t, shopOptions{yaml: r29hGroupsYAML, topics: topics})
	user, status := strings.Repeat("u", 1500), strings.Repeat("s", 1500)
	s.write("app.public.orders", row{"id": 1}, "c", row{"id": 1, "user_id": user, "status": status})
	s.caughtUp()

	st, body := s.get("/v1/views/r29h_groups/docs")
	mustStatus(t, "list", st, http.StatusOK, body)
	if n := len(docs(body)); n != 1 {
		t.Fatalf("list: %d docs, want 1", n)
	}
	id, _ := json.Marshal([]string{user, status})
	st, body = s.get("/v1/views/r29h_groups/docs/" + url.PathEscape(string(id)))
	if st != http.StatusOK {
		t.Fatalf("GET the listed group by its composite id (%d bytes): status %d, want 200: code %v: %v", len(id), st, body["code"], body["error"])
	}
	if body["n"] != json.Number("1") {
		t.Errorf("doc: n = %v, want 1", body["n"])
	}
}
