package projector_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// typesRig runs records through an engine in memory and one on
// PostgreSQL, each counting in a registry of its own.
func typesRig(t *testing.T, yaml string) (*reviewRig, map[string]*prometheus.Registry) {
	t.Helper()
	_, plan := loadPlan(t, reviewHead+yaml, nil)
	r := &reviewRig{t: t, plan: plan, engines: map[string]*projector.Engine{}, sinks: map[string]*viewSink{}, lsn: 100}
	regs := map[string]*prometheus.Registry{}
	pool, _ := testenv.Postgres(t)
	for _, name := range []string{"memory", "postgres"} {
		regs[name], r.sinks[name] = prometheus.NewRegistry(), newViewSink()
		opts := projector.Options{Plan: plan, Metrics: projector.NewMetrics(regs[name]),
			Sinks: []projector.Route{{Sink: r.sinks[name], Views: viewNames(plan)}}}
		if name == "memory" {
			opts.Memory = true
		} else {
			opts.Pool = pool
		}
		eng, err := projector.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		r.engines[name] = eng
	}
	return r, regs
}

func expectExprErrors(t *testing.T, regs map[string]*prometheus.Registry, want float64) {
	t.Helper()
	for name, reg := range regs {
		if errs, _ := metricValue(t, reg, "projector_expression_errors_total", nil); errs != want {
			t.Errorf("%s: projector_expression_errors_total = %v, want %v", name, errs, want)
		}
	}
}

// TestExprOverNestedFieldsSeesTheirTypes: an expression reads the items of
// a one-to-many join, a joined object, and a join nested in an item, by
// the types their own fields declare (a numeric as a number, a timestamp
// as a time), while the document keeps the values as they are stored.
func TestExprOverNestedFieldsSeesTheirTypes(t *testing.T) {
	r, regs := typesRig(t, `
sources:
  orders: { topic: t.public.orders, key: id, columns: { id: bigint, user_id: bigint } }
  users: { topic: t.public.users, key: id, columns: { id: bigint, since: timestamptz } }
  items: { topic: t.public.items, key: id, columns: { id: bigint, order_id: bigint, sku: text, price: "numeric(10,2)", at: timestamptz } }
  products: { topic: t.public.products, key: sku, columns: { sku: text, weight: "numeric(6,3)" } }
views:
  v:
    from: orders
    fields:
      id: id
      customer: { one: users, on: { id: user_id }, fields: { since: since } }
      items:
        many: items
        on: { order_id: id }
        fields:
          id: id
          price: price
          at: at
          product: { one: products, on: { sku: sku }, fields: { weight: weight } }
      weight: { expr: "sum(items, #.product.weight)", type: "numeric(10,3)" }
      dear: { expr: "filter(items, #.price > 10)[0].at.Month()", type: integer }
      since_year: { expr: "customer.since.Year()", type: bigint }
      count: { expr: "len(items)", type: bigint }
    sinks: { postgres: {} }
`)
	r.process([]projector.Record{
		r.rec("users", "c", m("id", 7), nil, m("id", 7, "since", "2021-03-04T05:06:07Z"), 0),
		r.rec("products", "c", m("sku", "a"), nil, m("sku", "a", "weight", "1.500"), 0),
		r.rec("products", "c", m("sku", "b"), nil, m("sku", "b", "weight", "0.250"), 0),
		r.rec("orders", "c", m("id", 1), nil, m("id", 1, "user_id", 7), 0),
		r.rec("items", "c", m("id", 10), nil, m("id", 10, "order_id", 1, "sku", "a", "price", "12.50", "at", "2024-05-01T10:00:00Z"), 0),
		r.rec("items", "c", m("id", 11), nil, m("id", 11, "order_id", 1, "sku", "b", "price", "1.25", "at", "2023-06-01T10:00:00Z"), 0),
	})
	r.expect("v", map[string]string{"1": `{
		"customer": {"since": "2021-03-04T05:06:07Z"},
		"items": [
			{"id": 10, "price": "12.50", "at": "2024-05-01T10:00:00Z", "product": {"weight": "1.500"}},
			{"id": 11, "price": "1.25", "at": "2023-06-01T10:00:00Z", "product": {"weight": "0.250"}}],
		"weight": "1.750", "dear": 5, "since_year": 2021, "count": 2}`})
	expectExprErrors(t, regs, 0)
}

// TestGroupColumnRetyped: a group_by view's column field with a type of
// its own is held to it, as a row view's is: a value the type cannot hold
// is null and counted. (The group's id field keeps its column's type: one
// retyping it into fewer values is refused, projections.lossyIDs.)
func TestGroupColumnRetyped(t *testing.T) {
	r, regs := typesRig(t, `
sources:
  o: { topic: t.public.o, key: id, columns: { id: bigint, amt: "numeric(10,2)" } }
views:
  st:
    from: o
    group_by: amt
    fields:
      amt: amt
      short: { column: amt, type: "numeric(3,1)" }
      n: { agg: count }
    sinks: { postgres: {} }
`)
	r.process([]projector.Record{
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "amt", "10.25"), 0),
		r.rec("o", "c", m("id", 2), nil, m("id", 2, "amt", "123.45"), 0),
	})
	r.expect("st", map[string]string{
		"10.25":  `{"amt": "10.25", "short": "10.3", "n": 1}`,
		"123.45": `{"amt": "123.45", "short": null, "n": 1}`,
	})
	expectExprErrors(t, regs, 1)
}
