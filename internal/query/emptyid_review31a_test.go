package query_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

const r31aLinksYAML = `
version: 1
kafka: { brokers: "localhost:1", group: lite }
stores:
  postgres: { url: "${PG}" }
sources:
  links:
    topic: app.public.links
    key: url
    columns: { url: text, rank: integer }
views:
  links:
    from: links
    fields: { url: url, rank: rank }
    sinks:
      postgres: { table: r31a_links }
`

// TestReview31aListWithTrailingSlash: since the empty id is served at
// /docs/, a list asked with a trailing slash typed by mistake
// (/docs/?sort=rank&limit=1) is taken for a get of the empty id and
// answered 400 "parameter "sort" does not apply here", which says the
// parameter is wrong when the path is (before, the same request was a 404
// pointing at /v1/openapi.json). The answer must say what /docs/ is (the
// document of the empty id) or point at the list, /docs without the
// slash.
func TestReview31aListWithTrailingSlash(t *testing.T) {
	l := newLite(t, r31aLinksYAML, `CREATE TABLE r31a_links (url text PRIMARY KEY, rank integer)`)
	l.exec(t, `INSERT INTO r31a_links VALUES ('a', 1), ('b', 2)`)
	for _, q := range []string{"?sort=rank&limit=1", "?limit=1", "?rank=1"} {
		p := "/v1/views/links/docs/" + q
		st, body := call(t, l.url, p)
		msg := strings.ToLower(fmt.Sprint(body["error"]))
		if st != http.StatusOK && !strings.Contains(msg, "empty") && !strings.Contains(msg, "slash") && !strings.Contains(msg, "/docs ") {
			t.Errorf("GET %s: %d %q: says nothing of the trailing slash (a get of the empty id) nor of the list at /docs", p, st, body["error"])
		}
	}
}
