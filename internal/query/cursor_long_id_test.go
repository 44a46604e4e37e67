package query_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const textIDYAML = `
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
      postgres: { table: links }
`

// TestCursorOverLongID: a list sorted by its text id (or by a field that
// is NULL on the page's last doc) carries the id in the cursor. An id of
// 2,021 bytes, half of them &, within the 2,048 bytes the engine accepts
// for a key, still gives cursors the server accepts back: every doc is
// walked ("the server never issues a cursor it would refuse").
func TestCursorOverLongID(t *testing.T) {
	l := newLite(t, textIDYAML, `CREATE TABLE links (url text PRIMARY KEY, rank integer)`)
	for i := 0; i < 4; i++ {
		l.exec(t, `INSERT INTO links VALUES ($1, NULL)`, "https://example.com/?"+strings.Repeat("x&", 1000)+fmt.Sprint(i))
	}
	for _, q := range []string{"", "&sort=-url", "&sort=rank"} {
		seen := 0
		cur := ""
		for page := 0; page < 10; page++ {
			p := "/v1/views/links/docs?limit=1" + q
			if cur != "" {
				p += "&cursor=" + url.QueryEscape(cur)
			}
			st, body := call(t, l.url, p)
			if st != http.StatusOK {
				t.Errorf("%q: page %d: status %d %v, want 200 (the cursor is the one the server issued)", q, page+1, st, body)
				break
			}
			seen += len(docs(body))
			nc, _ := body["next_cursor"].(string)
			if nc == "" {
				break
			}
			cur = nc
		}
		if seen != 4 {
			t.Errorf("%q: walked %d docs, want 4", q, seen)
		}
	}
}
