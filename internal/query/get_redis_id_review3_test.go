package query_test

import (
	"net/http"
	"testing"
)

// review3KeysYAML: the same groups of orders, by a boolean and by a
// numeric(10,2), once in Redis only and once in PostgreSQL only.
const review3KeysYAML = `
version: 1
kafka: { brokers: "${BROKERS}", group: review3-keys }
stores:
  postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }
sources:
  orders:
    topic: app.public.orders
    key: id
    columns: { id: bigint, user_id: text, status: text, total: "numeric(10,2)", note: text, created_at: timestamptz, paid: boolean }
  users:
    topic: app.public.users
    key: id
    columns: { id: text, name: text, email: text }
  lines:
    topic: app.public.lines
    key: [order_id, line]
    columns: { order_id: bigint, line: integer, sku: text, qty: integer }
views:
  paid_r:
    from: orders
    group_by: paid
    fields: { paid: paid, n: { agg: count } }
    sinks:
      redis: { key: "${PREFIX}paid:{paid}", format: hash }
  paid_pg:
    from: orders
    group_by: paid
    fields: { paid: paid, n: { agg: count } }
    sinks:
      postgres: { table: paid_pg }
  total_r:
    from: orders
    group_by: total
    fields: { total: total, n: { agg: count } }
    sinks:
      redis: { key: "${PREFIX}total:{total}" }
  total_pg:
    from: orders
    group_by: total
    fields: { total: total, n: { agg: count } }
    sinks:
      postgres: { table: total_pg }
`

// TestReview3GetRedisIDNotCanonical: a get checks the id against its
// field's type and accepts every spelling parseValue accepts (a boolean
// as t, 1 or yes; a decimal as 12.5 or 12.50), and PostgreSQL finds the
// doc under any of them. The Redis lookup builds the key from the id as
// typed (only integers and UUIDs are canonicalised, get.go parseID), so a
// view kept in Redis answers 404 for a doc it holds, where the same view
// in PostgreSQL answers 200: two stores, two answers.
func TestReview3GetRedisIDNotCanonical(t *testing.T) {
	s := newShop(t, shopOptions{yaml: review3KeysYAML, topics: topics})
	s.order(1, row{"user_id": "u1", "status": "paid", "total": "12.50", "paid": true})
	s.order(2, row{"user_id": "u1", "status": "new", "total": "3.00", "paid": false})
	s.caughtUp()
	for _, c := range []struct{ redis, pg string }{
		{"/v1/views/paid_r/docs/true", "/v1/views/paid_pg/docs/true"}, // sanity: the canonical text
		{"/v1/views/paid_r/docs/t", "/v1/views/paid_pg/docs/t"},
		{"/v1/views/paid_r/docs/1", "/v1/views/paid_pg/docs/1"},
		{"/v1/views/paid_r/docs/TRUE", "/v1/views/paid_pg/docs/TRUE"},
		{"/v1/views/total_r/docs/12.50", "/v1/views/total_pg/docs/12.50"}, // sanity
		{"/v1/views/total_r/docs/12.5", "/v1/views/total_pg/docs/12.5"},
	} {
		pst, pbody := call(t, s.http.URL, c.pg)
		mustStatus(t, c.pg, pst, http.StatusOK, pbody)
		rst, rbody := call(t, s.http.URL, c.redis)
		if rst != http.StatusOK {
			t.Errorf("GET %s: %d %v, while GET %s finds the same group: %v", c.redis, rst, rbody, c.pg, pbody)
		}
	}
}
