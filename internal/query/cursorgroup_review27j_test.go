package query_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const r27jGroupYAML = `
version: 1
kafka: { brokers: "${BROKERS}", group: r27j-group }
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
  r27j_pairs:
    from: users
    group_by: [name, email]
    fields: { name: name, email: email, n: { agg: count } }
    sinks:
      postgres: { table: r27j_pairs }
`

// TestR27jCursorOverCompositeGroupID: maxCursorBytes (24 KB, README
// "24 KB at most") was sized for one id value of 2,048 bytes of control
// characters. A group_by view of two text columns has an id of two such
// values (the engine checks each join/group value against 2,048 bytes,
// not their sum): the cursor after that group is over 24 KB, next()
// refuses to issue it, and every page ending on the group answers 500.
func TestR27jCursorOverCompositeGroupID(t *testing.T) {
	s := newShop(t, shopOptions{yaml: r27jGroupYAML, topics: topics})
	long := strings.Repeat("\x01", 2048)
	s.user("u1", long, long)
	s.user("u2", "zed", "z@example.com")
	s.caughtUp()

	seen := 0
	cur := ""
	for page := 0; page < 5; page++ {
		p := "/v1/views/r27j_pairs/docs?limit=1"
		if cur != "" {
			p += "&cursor=" + url.QueryEscape(cur)
		}
		st, body := s.get(p)
		if st != http.StatusOK {
			t.Fatalf("page %d: %d %v; want 200 and a cursor past the group", page+1, st, body)
		}
		seen += len(docs(body))
		nc, _ := body["next_cursor"].(string)
		if nc == "" {
			break
		}
		cur = nc
	}
	if seen != 2 {
		t.Errorf("walked %d groups, want 2", seen)
	}
}
