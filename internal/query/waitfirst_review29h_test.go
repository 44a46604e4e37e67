package query_test

import (
	"net/http"
	"testing"
)

const r29hEventsYAML = `
version: 1
kafka: { brokers: "localhost:1", group: lite }
stores:
  postgres: { url: "${PG}" }
sources:
  events:
    topic: app.public.events
    key: id
    columns: { id: bigint, name: text }
views:
  r29h_events:
    from: events
    fields: { id: id, name: name }
    sinks:
      postgres: { table: r29h_events }
`

// TestR29hBadRequestAnsweredAfterTheWait: the handler (handlers.go docs)
// runs the read-your-writes wait before the endpoint looks at its own
// parameters (List's limit and filters, Get's id, Search's q, offset…),
// so a request that can never succeed waits out its whole ?wait= (up to
// 30s) and then answers 504 position_not_reached, which tells the client
// to retry, with the progress of the partitions, instead of the 400 its
// parameters deserve. With wait=0 and a position not yet projected the
// answer is 504 at once; it should be the 400 the same request gets
// without min_position.
func TestR29hBadRequestAnsweredAfterTheWait(t *testing.T) {
	l := newLite(t, r29hEventsYAML, `CREATE TABLE r29h_events (id bigint PRIMARY KEY, name text)`)
	for _, c := range []struct{ path, code string }{
		{"/v1/views/r29h_events/docs?limit=0", "bad_limit"},
		{"/v1/views/r29h_events/docs?nosuchfield=1", "unknown_field"},
		{"/v1/views/r29h_events/docs/not-a-number", "bad_id"},
	} {
		st, body := call(t, l.url, c.path)
		mustStatus(t, c.path, st, http.StatusBadRequest, body)
		path := c.path + "&min_position=events:0/16B3748&wait=0"
		if c.code == "bad_id" {
			path = c.path + "?min_position=events:0/16B3748&wait=0"
		}
		st, body = call(t, l.url, path)
		if st != http.StatusBadRequest || body["code"] != c.code {
			t.Errorf("GET %s: status %d code %v, want 400 %s (as without min_position)", path, st, body["code"], c.code)
		}
	}
}
