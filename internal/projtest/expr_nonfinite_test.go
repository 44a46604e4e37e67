package projtest

import "testing"

const nonFiniteCfg = head + `
sources:
  orders:
    topic: t.o
    key: id
    columns: { id: bigint }
  items:
    topic: t.i
    key: id
    columns: { id: bigint, order_id: bigint, quantity: integer, weight: integer }
views:
  v:
    from: orders
    fields:
      id: id
      items:
        many: items
        on: { order_id: id }
        fields:
          id: id
          per_unit: { expr: "weight / quantity", type: "double precision" }
      max_per_unit: { agg: max, of: items.per_unit }
      sum_per_unit: { agg: sum, of: items.per_unit }
    sinks: { postgres: {} }
`

// An expression dividing by zero gives +Inf (expr-lang's / divides as
// floats): the field is null, as for any expression error, and aggregates
// over it skip it instead of failing the batch (a panic here would recur
// on every restart, as the doc stays pending).
func TestNonFiniteExpressionIsNull(t *testing.T) {
	expectPass(t, nonFiniteCfg, `
  - name: zero quantity
    given:
      - { source: orders, after: { id: 1 } }
      - { source: items, after: { id: 10, order_id: 1, quantity: 0, weight: 5 } }
    expect:
      v:
        "1": { items: [ { id: 10, per_unit: null } ], max_per_unit: null, sum_per_unit: null }
  - name: zero and non-zero quantities
    given:
      - { source: orders, after: { id: 1 } }
      - { source: items, after: { id: 10, order_id: 1, quantity: 0, weight: 5 } }
      - { source: items, after: { id: 11, order_id: 1, quantity: 2, weight: 5 } }
    expect:
      v:
        "1": { max_per_unit: 2.5, sum_per_unit: 2.5 }
`)
}
