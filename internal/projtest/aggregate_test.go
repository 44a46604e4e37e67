package projtest

import "testing"

const aggCfg = head + `
sources:
  orders:
    topic: t.o
    key: id
    columns: { id: bigint, user_id: text, coupon: text, total: "numeric(10,2)" }
  items:
    topic: t.i
    key: id
    columns: { id: bigint, order_id: bigint, price: "numeric(10,2)", rank: integer }
  notes:
    topic: t.n
    key: id
    columns: { id: bigint, order_id: bigint, body: text }
views:
  stats:
    from: orders
    group_by: user_id
    fields:
      user_id: user_id
      orders: { agg: count }
      coupons: { agg: count, of: coupon }
      spent: { agg: sum, of: total }
    sinks: { postgres: {} }
  v:
    from: orders
    fields:
      id: id
      items: { many: items, on: { order_id: id }, order_by: rank, fields: { id: id, price: price } }
      sum: { agg: sum, of: items.price }
      priced: { agg: count, of: items.price }
      note: { one: notes, on: { order_id: id }, column: body }
    sinks: { postgres: {} }
`

// Aggregates compute what SQL's do: count of a column skips nulls, a sum
// keeps the decimal scale and is null over no values. Rows order_by leaves
// tied, and the several rows a one-to-one join matches, come in state key
// order.
func TestAggregatesAndTiesLikeSQL(t *testing.T) {
	expectPass(t, aggCfg, `
  - name: aggregates
    given:
      - { source: orders, after: { id: 1, user_id: u1, coupon: X, total: "10.00" } }
      - { source: orders, after: { id: 2, user_id: u1, total: "5.50" } }
      - { source: orders, after: { id: 3, user_id: u1 } }
      - { source: items, after: { id: 12, order_id: 1, price: "2.50", rank: 1 } }
      - { source: items, after: { id: 11, order_id: 1, price: "2.50", rank: 1 } }
      - { source: items, after: { id: 10, order_id: 1, rank: 2 } }
      - { source: notes, after: { id: 21, order_id: 1, body: second } }
      - { source: notes, after: { id: 20, order_id: 1, body: first } }
    expect:
      stats:
        u1: { orders: 3, coupons: 1, spent: "15.50" }
      v:
        "1": { items: [ { id: 11 }, { id: 12 }, { id: 10 } ], sum: "5.00", priced: 2, note: first }
        "2": { items: [], sum: null, priced: 0, note: null }
`)
}
