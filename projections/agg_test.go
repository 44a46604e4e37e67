package projections_test

import (
	"strings"
	"testing"
)

// Sum and avg need numbers: a joined object or a nested array of the
// items, or a column declared jsonb, is refused (at run time it would
// always give null).
func TestSumOverObjectOrArrayRefused(t *testing.T) {
	for name, views := range map[string]string{
		"object": `
  v:
    from: orders
    fields:
      id: id
      items: { many: items, on: { order_id: id }, fields: { id: id, buyer: { one: users, on: { _id: user_id }, fields: { name: name } } } }
      s: { agg: sum, of: items.buyer }
    sinks: { postgres: {} }
`,
		"array": `
  v:
    from: users
    fields:
      _id: _id
      orders: { many: orders, on: { user_id: _id }, fields: { id: id, items: { many: items, on: { order_id: id }, fields: { id: id } } } }
      s: { agg: avg, of: orders.items }
    sinks: { postgres: {} }
`,
		"jsonb column": `
  v:
    from: users
    group_by: [name]
    fields: { name: name, s: { agg: sum, of: info } }
    sinks: { postgres: {} }
`,
		"jsonb column of the items": `
  v:
    from: orders
    fields:
      id: id
      buyers: { many: users, on: { _id: user_id }, fields: { _id: _id, info: info } }
      s: { agg: sum, of: buyers.info }
    sinks: { postgres: {} }
`,
	} {
		t.Run(name, func(t *testing.T) {
			if err := compileViews(t, views); err == nil || !strings.Contains(err.Error(), "needs numbers") {
				t.Errorf("sum/avg over a %s compiled, error %v; want \"needs numbers\"", name, err)
			}
		})
	}
}

// Min and max compare values: a joined object or a nested array of the
// items has none they can order.
func TestMinMaxOverObjectOrArrayRefused(t *testing.T) {
	for name, views := range map[string]string{
		"object": `
  v:
    from: orders
    fields:
      id: id
      items: { many: items, on: { order_id: id }, fields: { id: id, buyer: { one: users, on: { _id: user_id }, fields: { name: name } } } }
      m: { agg: min, of: items.buyer }
    sinks: { postgres: {} }
`,
		"array": `
  v:
    from: users
    fields:
      _id: _id
      orders: { many: orders, on: { user_id: _id }, fields: { id: id, items: { many: items, on: { order_id: id }, fields: { id: id } } } }
      m: { agg: max, of: orders.items }
    sinks: { postgres: {} }
`,
	} {
		t.Run(name, func(t *testing.T) {
			if err := compileViews(t, views); err == nil || !strings.Contains(err.Error(), "needs values it can order") {
				t.Errorf("min/max over a %s compiled, error %v; want \"needs values it can order\"", name, err)
			}
		})
	}
}

// Sums over values whose type is not declared (a source without columns)
// or that are numbers are accepted, directly or through a joined column.
func TestSumOverUndeclaredOrNumbersAccepted(t *testing.T) {
	const file = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "${PROJECTOR_POSTGRES_URL}" } }
sources:
  orders: { topic: o, key: id, columns: { id: bigint } }
  lines: { topic: l, key: id }
  typed: { topic: t, key: id, columns: { id: bigint, order_id: bigint, qty: integer } }
views:
  v:
    from: orders
    fields:
      id: id
      lines: { many: lines, on: { order_id: id }, fields: { id: id, qty: qty, most: { one: lines, on: { id: id }, column: qty } } }
      typed: { many: typed, on: { order_id: id }, fields: { id: id, qty: qty } }
      a: { agg: sum, of: lines.qty }
      b: { agg: avg, of: lines.most }
      c: { agg: sum, of: typed.qty }
    sinks: { postgres: {} }
`
	if _, err := compile(t, file); err != nil {
		t.Error(err)
	}
}

// TestGroupByUnscaledNumericRefused: groups are found by the value's text,
// as joins are, and a numeric without a declared scale keeps the scale
// each value came with: 2 and 2.0 would be two groups where SQL's GROUP BY
// makes one. A declared scale groups them alike.
func TestGroupByUnscaledNumericRefused(t *testing.T) {
	err := compileViews(t, `
  by_amount:
    from: orders
    group_by: [amount]
    fields: { amount: amount, n: { agg: count } }
    sinks: { postgres: {} }
`)
	if err == nil || !strings.Contains(err.Error(), "t.yaml:20:16: by_amount: group_by amount is a numeric without a declared scale") {
		t.Errorf("group_by an unscaled numeric: %v; want it refused at the column", err)
	}
	if err := compileViews(t, `
  by_total:
    from: orders
    group_by: [total]
    fields: { total: total, n: { agg: count } }
    sinks: { postgres: {} }
`); err != nil {
		t.Errorf("group_by numeric(10,2): %v", err)
	}
}
