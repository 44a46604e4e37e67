package query_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

// In PostgreSQL a bare name in an expression is a column before it is a
// table alias: with a field named like the alias of a get ("r") or of a
// list's outer query ("p"), to_jsonb(r) would be that field's value, not
// the row. Field names are the user's choice (r for rating, p for
// priority), so every doc is selected as to_jsonb(alias.*).
func TestFieldNamedLikeTheSQLAlias(t *testing.T) {
	l := newLite(t, `
version: 1
kafka: { brokers: "localhost:1", group: lite }
stores:
  postgres: { url: "${PG}" }
sources:
  items:
    topic: app.public.items
    key: id
    columns: { id: bigint, r: real, p: integer }
views:
  items:
    from: items
    fields: { id: id, r: r, p: p }
    sinks:
      postgres: { table: items }
`, `CREATE TABLE items (id bigint PRIMARY KEY, r real, p integer)`)
	l.exec(t, `INSERT INTO items VALUES (1, 4.5, 4), (2, NULL, 5)`)
	want := map[string]string{"1": `{"id":1,"p":4,"r":4.5}`, "2": `{"id":2,"p":5,"r":null}`}
	for _, id := range []string{"1", "2"} {
		st, body := callRaw(t, l.url, "/v1/views/items/docs/"+id)
		if st != http.StatusOK || canonical(t, body) != want[id] {
			t.Errorf("GET /docs/%s: %d %q, want 200 %s", id, st, body, want[id])
		}
	}
	st, body := callRaw(t, l.url, "/v1/views/items/docs?sort=id")
	var page struct{ Docs []json.RawMessage }
	if st != http.StatusOK || json.Unmarshal([]byte(body), &page) != nil {
		t.Fatalf("list: %d %s", st, body)
	}
	if len(page.Docs) != 2 || canonical(t, string(page.Docs[0])) != want["1"] || canonical(t, string(page.Docs[1])) != want["2"] {
		t.Errorf("list: docs %s, want [%s, %s]", page.Docs, want["1"], want["2"])
	}
}

// canonical re-encodes a JSON value with sorted keys; "" when s is not JSON.
func canonical(t *testing.T, s string) string {
	t.Helper()
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
