package query_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const r27hTextKeyYAML = `
version: 1
kafka: { brokers: "${BROKERS}", group: r27h-textkey }
stores:
  postgres: { url: "${PG}" }
sources:
  orders:
    topic: app.public.orders
    key: id
    columns: { id: bigint }
  users:
    topic: app.public.users
    key: id
    columns: { id: text, name: text, email: text }
  lines:
    topic: app.public.lines
    key: [order_id, line]
    columns: { order_id: bigint, line: integer }
views:
  r27h_users:
    from: users
    fields: { id: id, name: name, email: email }
    sinks:
      postgres: { table: r27h_users }
`

// TestR27hCursorOverControlCharacterID: the engine takes text keys of up
// to 2,048 bytes (projector/decode.go maxIndexedText), and the README
// promises cursors of 16 KB at most for such ids, sized (cursor.go
// maxCursorBytes) for JSON escapes of "at most 2 bytes a byte outside
// control characters". A source key made of control characters — data
// whoever writes the source row chooses — escapes to 6 bytes a byte
// (\u0001), so the cursor after that doc is over 16 KB: next() refuses to
// issue it and List answers 500 internal for every page that ends on the
// doc, so no client can page past it with that limit. The doc is one the
// engine accepted and a get returns; its page must come with a cursor
// that continues the walk.
func TestR27hCursorOverControlCharacterID(t *testing.T) {
	s := newShop(t, shopOptions{yaml: r27hTextKeyYAML, topics: topics})
	long := strings.Repeat("\x01", 2048)
	s.user(long, "Mallory", "m@example.com")
	s.user("zed", "Zed", "z@example.com")
	s.caughtUp()

	if st, body := s.get("/v1/views/r27h_users/docs/" + url.PathEscape(long)); st != http.StatusOK {
		t.Fatalf("get of the long id: %d %v (the engine should hold it)", st, body)
	}
	for _, q := range []string{"", "&sort=-id", "&sort=name"} {
		seen := 0
		cur := ""
		for page := 0; page < 5; page++ {
			p := "/v1/views/r27h_users/docs?limit=1" + q
			if cur != "" {
				p += "&cursor=" + url.QueryEscape(cur)
			}
			st, body := s.get(p)
			if st != http.StatusOK {
				t.Errorf("%q: page %d: %d %v; want 200 and a cursor past the doc", q, page+1, st, body)
				break
			}
			seen += len(docs(body))
			nc, _ := body["next_cursor"].(string)
			if nc == "" {
				break
			}
			cur = nc
		}
		if seen != 2 {
			t.Errorf("%q: walked %d docs, want 2", q, seen)
		}
	}
}
