package projtest

import "testing"

const priorFieldsCfg = head + `
sources:
  orders:
    topic: t.o
    key: id
    columns: { id: bigint, total_amount: "numeric(10,2)", qty: integer, at: timestamptz }
  items:
    topic: t.i
    key: id
    columns: { id: bigint, order_id: bigint }
views:
  v:
    from: orders
    fields:
      id: id
      total: total_amount
      q: qty
      at: at
      items: { many: items, on: { order_id: id }, fields: { id: id } }
      n: { agg: count, of: items }
      direct: { expr: "total_amount * 2", type: numeric }
      doubled: { expr: "total * 2", type: numeric }
      qq: { expr: "q + 1", type: bigint }
      qqq: { expr: "qq + 1", type: bigint }
      has_items: { expr: "n > 0", type: boolean }
      year: { expr: "at.Year()", type: bigint }
    sinks: { postgres: {} }
`

// An expression reads the fields computed before it with the types they
// were type-checked as: numbers as numbers (not their stored text), a
// timestamp as a time, an aggregate's count as an integer.
func TestExpressionsReadEarlierFields(t *testing.T) {
	expectPass(t, priorFieldsCfg, `
  - name: expressions over earlier fields
    given:
      - { source: orders, after: { id: 1, total_amount: "10.00", qty: 3, at: "2024-05-01T10:00:00Z" } }
      - { source: items, after: { id: 5, order_id: 1 } }
    expect:
      v:
        "1": { direct: 20, doubled: 20, qq: 4, qqq: 5, has_items: true, year: 2024 }
`)
}
