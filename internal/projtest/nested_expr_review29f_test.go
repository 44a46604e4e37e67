package projtest

import "testing"

const R29fNestedCfg = head + `
sources:
  orders: { topic: t.o, key: id, columns: { id: bigint, user_id: bigint } }
  users: { topic: t.u, key: id, columns: { id: bigint, balance: "numeric(10,2)", since: timestamptz } }
  items: { topic: t.i, key: id, columns: { id: bigint, order_id: bigint, price: "numeric(10,2)", at: timestamptz } }
views:
  v:
    from: orders
    fields:
      id: id
      customer: { one: users, on: { id: user_id }, fields: { balance: balance, since: since } }
      items: { many: items, on: { order_id: id }, fields: { id: id, price: price, at: at } }
      price_sum: { expr: "sum(items, #.price)", type: "numeric(10,2)" }
      has_dear: { expr: "any(items, #.price > 10)", type: boolean }
      last_year: { expr: "max(map(items, #.at.Year()))", type: bigint }
      rich: { expr: "customer.balance >= 100", type: boolean }
      since_year: { expr: "customer.since.Year()", type: bigint }
    sinks: { postgres: {} }
`

// An expression over an earlier nested field (the items of a one-to-many
// join, a joined object) sees the declared types of the joined columns, as
// it does for the row's own columns and earlier top-level fields: a
// numeric as a number and a timestamp as a time, not their stored text.
// validate accepts all of these expressions; today each gives null (and
// counts an expression error) for every document.
func TestR29fExpressionsOverNestedFieldsSeeDeclaredTypes(t *testing.T) {
	expectPass(t, R29fNestedCfg, `
  - name: expressions over items and a joined object
    given:
      - { source: users, after: { id: 7, balance: "150.00", since: "2021-03-04T05:06:07Z" } }
      - { source: orders, after: { id: 1, user_id: 7 } }
      - { source: items, after: { id: 10, order_id: 1, price: "12.50", at: "2024-05-01T10:00:00Z" } }
      - { source: items, after: { id: 11, order_id: 1, price: "1.25", at: "2023-05-01T10:00:00Z" } }
    expect:
      v:
        "1": { price_sum: "13.75", has_dear: true, last_year: 2024, rich: true, since_year: 2021 }
`)
}
