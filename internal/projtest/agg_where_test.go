package projtest

import "testing"

const aggWhereCfg = head + `
sources:
  orders:
    topic: t.o
    key: id
    columns: { id: bigint, user_id: text, status: text, total: "numeric(10,2)" }
  items:
    topic: t.i
    key: id
    columns: { id: bigint, order_id: bigint, quantity: integer }
views:
  stats:
    from: orders
    group_by: user_id
    fields:
      user_id: user_id
      orders: { agg: count }
      paid_count: { agg: count, where: status == "paid" }
      paid_total: { agg: sum, of: total, where: status == "paid" }
    sinks: { postgres: {} }
  v:
    from: orders
    fields:
      id: id
      items: { many: items, on: { order_id: id }, fields: { id: id } }
      big_items: { agg: count, of: items, where: quantity > 1 }
    sinks: { postgres: {} }
`

// where on an agg field keeps the rows it holds for: the group's root rows,
// or the joined rows behind a nested array's items (over their source's
// columns, even one the items do not show). A change that moves a row in or
// out of the filter, without moving it between groups, recomputes it.
func TestAggWhereFiltersRows(t *testing.T) {
	expectPass(t, aggWhereCfg, `
  - name: agg where
    given:
      - { source: orders, after: { id: 1, user_id: u1, status: paid, total: "1.50" } }
      - { source: orders, after: { id: 2, user_id: u1, status: shipped, total: "1.00" } }
      - { source: items, after: { id: 10, order_id: 1, quantity: 1 } }
      - { source: items, after: { id: 11, order_id: 1, quantity: 5 } }
    expect:
      stats:
        u1: { orders: 2, paid_count: 1, paid_total: "1.50" }
      v:
        "1": { big_items: 1 }
  - name: rows move in and out of the filter
    given:
      - { source: orders, after: { id: 1, user_id: u1, status: paid, total: "1.50" } }
      - { source: orders, after: { id: 2, user_id: u1, status: shipped, total: "1.00" } }
      - { source: orders, op: u, after: { id: 2, user_id: u1, status: paid, total: "1.00" } }
      - { source: orders, op: u, after: { id: 1, user_id: u1, status: refunded, total: "1.50" } }
      - { source: items, after: { id: 10, order_id: 1, quantity: 1 } }
      - { source: items, op: u, after: { id: 10, order_id: 1, quantity: 3 } }
    expect:
      stats:
        u1: { orders: 2, paid_count: 1, paid_total: "1.00" }
      v:
        "1": { big_items: 1 }
  - name: a group no row passes
    given:
      - { source: orders, after: { id: 1, user_id: u1, status: shipped, total: "1.50" } }
    expect:
      stats:
        u1: { orders: 1, paid_count: 0, paid_total: null }
`)
}
