package query_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
)

// r13qTimeKeysYAML: groups of orders by a timestamp, a timestamptz, a date
// and a time column, each in Redis only (hash and JSON) and in PostgreSQL
// only.
const r13qTimeKeysYAML = `
version: 1
kafka: { brokers: "${BROKERS}", group: r13q-keys }
stores:
  postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }
sources:
  orders:
    topic: app.public.orders
    key: id
    columns: { id: bigint, day: timestamp, at: timestamptz, d: date, opens: time }
views:
  day_r:
    from: orders
    group_by: day
    fields: { day: day, n: { agg: count } }
    sinks:
      redis: { key: "${PREFIX}day:{day}", format: hash }
  day_pg:
    from: orders
    group_by: day
    fields: { day: day, n: { agg: count } }
    sinks:
      postgres: { table: day_pg }
  at_r:
    from: orders
    group_by: at
    fields: { at: at, n: { agg: count } }
    sinks:
      redis: { key: "${PREFIX}at:{at}" }
  at_pg:
    from: orders
    group_by: at
    fields: { at: at, n: { agg: count } }
    sinks:
      postgres: { table: at_pg }
  d_r:
    from: orders
    group_by: d
    fields: { d: d, n: { agg: count } }
    sinks:
      redis: { key: "${PREFIX}d:{d}" }
  d_pg:
    from: orders
    group_by: d
    fields: { d: d, n: { agg: count } }
    sinks:
      postgres: { table: d_pg }
  opens_r:
    from: orders
    group_by: opens
    fields: { opens: opens, n: { agg: count } }
    sinks:
      redis: { key: "${PREFIX}opens:{opens}" }
  opens_pg:
    from: orders
    group_by: opens
    fields: { opens: opens, n: { agg: count } }
    sinks:
      postgres: { table: opens_pg }
`

// TestR13qGetRedisTimeKeys: a group_by view's id is its group value; its
// doc's id field reads, from every store, as the engine wrote it. Asking
// the Redis view for the id exactly as the PostgreSQL twin's doc shows it
// must find the same group, as doc.go promises ("the id is that field's
// value as text").
func TestR13qGetRedisTimeKeys(t *testing.T) {
	s := newShop(t, shopOptions{yaml: r13qTimeKeysYAML, topics: topics})
	s.order(1, row{"day": "2024-01-02T10:00:00", "at": "2024-01-02T10:00:00.5Z", "d": "2024-01-02", "opens": "10:15:30.5"})
	s.order(2, row{"day": "2024-01-02T10:00:00", "at": "2024-01-02T10:00:00.5Z", "d": "2024-01-02", "opens": "10:15:30.5"})
	s.caughtUp()
	for _, c := range []struct{ field, r, pg string }{{"day", "day_r", "day_pg"}, {"at", "at_r", "at_pg"}, {"d", "d_r", "d_pg"}, {"opens", "opens_r", "opens_pg"}} {
		st, body := s.get("/v1/views/" + c.pg + "/docs")
		mustStatus(t, c.pg, st, http.StatusOK, body)
		list := docs(body)
		if len(list) != 1 {
			t.Fatalf("%s: %v", c.pg, body)
		}
		id, _ := list[0][c.field].(string)
		for _, v := range []string{c.pg, c.r} {
			p := "/v1/views/" + v + "/docs/" + url.PathEscape(id)
			st, body := s.get(p)
			if st != http.StatusOK {
				keys, _ := s.rdb.Keys(context.Background(), s.prefix+c.field+":*").Result()
				t.Errorf("GET %s (the id as the list shows it): %d %v; Redis keys %q", p, st, body, keys)
			}
		}
	}
}
