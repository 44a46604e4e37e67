package query_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const r36cPagesYAML = `
version: 1
kafka: { brokers: "localhost:1", group: lite }
stores:
  postgres: { url: "${PG}" }
sources:
  pages:
    topic: app.public.pages
    key: [host, path]
    columns: { host: text, path: text, rank: integer }
views:
  pages:
    from: pages
    fields: { host: host, path: path, rank: rank }
    sinks:
      postgres: { table: pages }
`

// TestR36CShortSortKeyCursorNotStale: the README allows a 400
// stale_cursor only "when the sort key of the page's last doc is longer
// (long text)": the cursor then refers to that doc instead of carrying
// the key. Otherwise "a doc present during the whole walk whose sort
// field does not change is returned exactly once, whatever else is
// written meanwhile". cursor.go next() switches to a Ref cursor whenever
// the signed cursor passes 4 KB, whatever makes it long: with a composite
// id of two 1.9 KB texts (ids of kilobytes, for which the README allows a
// cursor of up to 24 KB) and sort=rank (an integer), deleting the page's
// last doc makes the next page a 400 stale_cursor, and the docs that stood
// still are never reached. Carrying the 1-digit key would have continued.
func TestR36CShortSortKeyCursorNotStale(t *testing.T) {
	l := newLite(t, r36cPagesYAML, `CREATE TABLE pages (host text, path text, rank integer, PRIMARY KEY (host, path))`)
	host := "h" + strings.Repeat("x", 1900)
	for i := 1; i <= 3; i++ {
		l.exec(t, `INSERT INTO pages VALUES ($1, $2, $3)`, host, fmt.Sprintf("%s%d", strings.Repeat("y", 1900), i), i)
	}
	st, body := call(t, l.url, "/v1/views/pages/docs?sort=rank&limit=1")
	mustStatus(t, "page 1", st, http.StatusOK, body)
	cur, _ := body["next_cursor"].(string)
	if cur == "" {
		t.Fatalf("page 1: no next_cursor: %v", body)
	}
	// Another client deletes the doc page 1 ended with (rank 1); docs 2 and
	// 3 stay as they are.
	l.exec(t, `DELETE FROM pages WHERE rank = 1`)
	p := "/v1/views/pages/docs?sort=rank&limit=1&cursor=" + url.QueryEscape(cur)
	st, body = call(t, l.url, p)
	if st != http.StatusOK {
		t.Fatalf("page 2 after the last doc of page 1 was deleted: %d %v; want the doc of rank 2 (the sort key, rank 1, is one digit; the cursor is %d bytes)", st, body, len(cur))
	}
	if d := docs(body); len(d) != 1 || fmt.Sprint(d[0]["rank"]) != "2" {
		t.Errorf("page 2: %v, want the doc of rank 2", body)
	}
}
