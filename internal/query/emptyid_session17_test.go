package query_test

import (
	"net/http"
	"strings"
	"testing"
)

// emptyIDYAML adds to the shop two views keyed by the users' text id: one
// read from Redis, one from PostgreSQL only.
const emptyIDYAML = shopYAML + `
  people:
    from: users
    fields: { id: id, name: name }
    sinks:
      postgres: { table: q_people }
      redis: { key: "${PREFIX}person:{id}" }
  people_pg:
    from: users
    fields: { id: id, name: name }
    sinks:
      postgres: { table: q_people_pg }
`

// TestGetEmptyID: a text key may be the empty string, and its document is
// as fetchable as any other, at /docs/ (the empty path segment) and by
// `projector query VIEW ""`, from Redis and from PostgreSQL.
func TestGetEmptyID(t *testing.T) {
	s := newShop(t, shopOptions{yaml: emptyIDYAML, topics: topics})
	s.user("", "Nobody", "nobody@example.com")
	s.user("u1", "Ada Lovelace", "ada@example.com")
	s.caughtUp()
	for _, view := range []string{"people", "people_pg"} {
		path := "/v1/views/" + view + "/docs/"
		status, body := s.get(path)
		mustStatus(t, path, status, http.StatusOK, body)
		if body["id"] != "" || body["name"] != "Nobody" {
			t.Errorf("GET %s: %v; want the document of id \"\"", path, body)
		}
		code, out, errOut := projectorCLI(t, s, "query", view, "")
		if code != 0 || !strings.Contains(out, `"name": "Nobody"`) {
			t.Errorf("projector query %s \"\": exit %d %q\n%s", view, code, errOut, out)
		}
	}
	// The list endpoint is unchanged, and a view without a document of
	// the empty id answers 404 there.
	status, body := s.get("/v1/views/people_pg/docs?sort=id")
	mustStatus(t, "list", status, http.StatusOK, body)
	if got := len(docs(body)); got != 2 {
		t.Errorf("list: %d docs, want 2: %v", got, body)
	}
	s.write("app.public.users", row{"id": ""}, "d", nil)
	s.caughtUp()
	if status, body := s.get("/v1/views/people/docs/"); status != http.StatusNotFound {
		t.Errorf("GET the deleted empty id: %d %v; want 404", status, body)
	}
}
