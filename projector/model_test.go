package projector_test

// Model tests: a random workload over a schema that exercises
// every route kind (root, one/many joins, multi-level fan-out, a source that
// is both a root and joined by a non-key column, group views grouped by a
// non-key column and by part of a composite key, where-filters on roots and
// joins, TOAST merges, stale replays, deletes and re-creates, moved foreign
// keys), fed in random batches to a PostgreSQL engine and a memory engine.
//
// Checks:
//   - the state equals a model of the sources (position guard, tombstones,
//     TOAST merge keeps stored values);
//   - every doc a sink holds equals the doc recomputed from scratch from the
//     final state (affected keys complete, builder rows current);
//   - the memory engine wrote exactly what the PostgreSQL engine wrote.

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
)

const modelYAML = `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
%s
views:
  order_view:
    from: orders
    where: status != "cancelled"
    fields:
      id: id
      status: status
      note: note
      customer: { one: customers, on: { id: customer_id }, fields: { name: name, region: region } }
      items:
        many: items
        on: { order_id: id }
        where: qty > 0
        order_by: id
        fields:
          id: id
          qty: qty
          product: { one: products, on: { id: product_id }, column: name }
      lines: { many: lines, on: { order_id: id }, order_by: line_no, fields: { line_no: line_no, note: note } }
    sinks: { postgres: {} }
  customer_view:
    from: customers
    fields:
      id: id
      name: name
      paid: { many: orders, on: { customer_id: id }, where: status == "paid", order_by: id, fields: { id: id, amount: amount } }
    sinks: { postgres: {} }
  customer_stats:
    from: orders
    where: status != "cancelled"
    group_by: customer_id
    fields: { customer_id: customer_id, n: { agg: count }, total: { agg: sum, of: amount } }
    sinks: { postgres: {} }
  region_stats:
    from: customers
    group_by: region
    fields: { region: region, n: { agg: count } }
    sinks: { postgres: {} }
  product_view:
    from: products
    where: category != "hidden"
    fields:
      id: id
      name: name
      items:
        many: items
        on: { product_id: id }
        order_by: id
        fields:
          id: id
          qty: qty
          order:
            one: orders
            on: { id: order_id }
            fields: { status: status, customer: { one: customers, on: { id: customer_id }, column: name } }
    sinks: { postgres: {} }
  line_stats:
    from: lines
    group_by: order_id
    fields: { order_id: order_id, n: { agg: count } }
    sinks: { postgres: {} }
`

// twinEngines are an engine on PostgreSQL and one in memory, for the same
// plan, each writing every view to a sink of its own.
func twinEngines(t *testing.T, pool *pgxpool.Pool, plan *projections.Plan) (pgEng *projector.Engine, pgSink *viewSink, memEng *projector.Engine, memSink *viewSink) {
	t.Helper()
	pgSink, memSink = newViewSink(), newViewSink()
	pgEng = newEngine(t, pool, plan, pgSink, nil)
	memEng, err := projector.New(projector.Options{Plan: plan, Memory: true,
		Sinks: []projector.Route{{Sink: memSink, Views: viewNames(plan)}}})
	if err != nil {
		t.Fatal(err)
	}
	return pgEng, pgSink, memEng, memSink
}

// modelSources are the sources, in an order given by perm (the engine
// applies sources in plan order, which decides what a batch reads first).
var modelSources = []string{
	`  customers: { topic: t.public.customers, format: json, key: id, columns: { id: bigint, name: text, region: text } }`,
	`  orders: { topic: t.public.orders, format: json, key: id, columns: { id: bigint, customer_id: bigint, status: text, amount: bigint, note: text } }`,
	`  items: { topic: t.public.items, format: json, key: id, columns: { id: bigint, order_id: bigint, product_id: bigint, qty: bigint } }`,
	`  products: { topic: t.public.products, format: json, key: id, columns: { id: bigint, name: text, category: text } }`,
	`  lines: { topic: t.public.lines, format: json, key: [order_id, line_no], columns: { order_id: bigint, line_no: bigint, note: text } }`,
}

func modelPlan(t *testing.T, order []int) *projections.Plan {
	t.Helper()
	var srcs string
	for _, i := range order {
		srcs += modelSources[i] + "\n"
	}
	_, plan := loadPlan(t, fmt.Sprintf(modelYAML, srcs), nil)
	return plan
}

// --- the workload and its model ---

type modelRow struct {
	data    map[string]any
	pos     int64
	deleted bool
}

type modelGen struct {
	rnd   *rand.Rand
	lsn   int64
	model map[string]map[string]*modelRow // source → state key → row
	recs  []projector.Record
	sent  []modelSent // every record, for replays
	toast int
}

type modelSent struct {
	rec    projector.Record
	source string
	key    string
	change modelChange
}

type modelChange struct {
	pos     int64
	data    map[string]any
	deleted bool
	merge   bool
}

func newModelGen(seed uint64) *modelGen {
	return &modelGen{rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), lsn: 1000,
		model: map[string]map[string]*modelRow{}}
}

var modelKeyCols = map[string][]string{
	"customers": {"id"}, "orders": {"id"}, "items": {"id"}, "products": {"id"}, "lines": {"order_id", "line_no"},
}

func stateKey(source string, row map[string]any) string {
	cols := modelKeyCols[source]
	if len(cols) == 1 {
		return fmt.Sprint(row[cols[0]])
	}
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = fmt.Sprint(row[c])
	}
	b, _ := json.Marshal(parts)
	return string(b)
}

const toastPlaceholder = "__debezium_unavailable_value"

// row makes a random full row of source with the given key values.
func (g *modelGen) row(source string, key map[string]any) map[string]any {
	r := g.rnd
	row := map[string]any{}
	for k, v := range key {
		row[k] = v
	}
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	switch source {
	case "customers":
		row["name"] = pick("Ada", "Grace", "Ken", "Barbara", "Edsger")
		row["region"] = pick("north", "south", "east")
	case "orders":
		row["customer_id"] = int64(1 + r.IntN(5))
		row["status"] = pick("new", "paid", "paid", "cancelled", "shipped")
		row["amount"] = int64(r.IntN(100))
		row["note"] = fmt.Sprintf("note-%d", r.IntN(1000))
	case "items":
		row["order_id"] = int64(1 + r.IntN(8))
		row["product_id"] = int64(1 + r.IntN(4))
		row["qty"] = int64(r.IntN(4)) // 0 fails the join's where
	case "products":
		row["name"] = pick("teapot", "lamp", "drill", "hammer")
		row["category"] = pick("home", "tools", "hidden")
	case "lines":
		row["note"] = fmt.Sprintf("l-%d", r.IntN(100))
	}
	return row
}

func (g *modelGen) randomKey(source string) map[string]any {
	r := g.rnd
	switch source {
	case "customers":
		return map[string]any{"id": int64(1 + r.IntN(5))}
	case "orders":
		return map[string]any{"id": int64(1 + r.IntN(8))}
	case "items":
		return map[string]any{"id": int64(1 + r.IntN(12))}
	case "products":
		return map[string]any{"id": int64(1 + r.IntN(4))}
	default:
		return map[string]any{"order_id": int64(1 + r.IntN(8)), "line_no": int64(1 + r.IntN(3))}
	}
}

var modelTables = map[string]string{
	"customers": "customers", "orders": "orders", "items": "items", "products": "products", "lines": "lines",
}

// envelope is a schemaless Debezium PostgreSQL record.
func envelope(table, op string, before, after map[string]any, lsn int64) []byte {
	m := map[string]any{
		"before": before, "after": after, "op": op, "ts_ms": 1,
		"source": map[string]any{"version": "2.7.3.Final", "connector": "postgresql", "name": "t",
			"ts_ms": 1, "snapshot": "false", "db": "d", "schema": "public", "table": table,
			"txId": lsn, "lsn": lsn, "xmin": nil},
		"transaction": nil,
	}
	return must(json.Marshal(m))
}

func (g *modelGen) emit(source string, key map[string]any, ch modelChange, before, after map[string]any, op string) {
	rec := projector.Record{Topic: "t.public." + source, Offset: int64(len(g.recs)),
		Key: must(json.Marshal(key)), Value: envelope(modelTables[source], op, before, after, ch.pos)}
	g.recs = append(g.recs, rec)
	s := modelSent{rec: rec, source: source, key: stateKey(source, key), change: ch}
	g.sent = append(g.sent, s)
	g.applyModel(s)
}

// applyModel is the specification: a change applies when its position is
// not older than the stored one; a merge keeps the stored values of the
// columns it lacks when the stored row is live.
func (g *modelGen) applyModel(s modelSent) {
	tbl := g.model[s.source]
	if tbl == nil {
		tbl = map[string]*modelRow{}
		g.model[s.source] = tbl
	}
	old := tbl[s.key]
	if old != nil && old.pos > s.change.pos {
		return
	}
	data := map[string]any{}
	if s.change.merge && old != nil && !old.deleted {
		for k, v := range old.data {
			data[k] = v
		}
	}
	for k, v := range s.change.data {
		data[k] = v
	}
	tbl[s.key] = &modelRow{data: data, pos: s.change.pos, deleted: s.change.deleted}
}

func (g *modelGen) live(source, key string) (*modelRow, bool) {
	r := g.model[source][key]
	return r, r != nil && !r.deleted
}

// step emits one random change (or a replay of an earlier record).
func (g *modelGen) step() {
	r := g.rnd
	if len(g.sent) > 5 && r.IntN(10) == 0 {
		s := g.sent[r.IntN(len(g.sent))]
		s.rec.Offset = int64(len(g.recs))
		g.recs = append(g.recs, s.rec)
		g.sent = append(g.sent, s)
		g.applyModel(s)
		return
	}
	sources := []string{"customers", "orders", "orders", "items", "items", "items", "products", "lines"}
	source := sources[r.IntN(len(sources))]
	key := g.randomKey(source)
	sk := stateKey(source, key)
	old, live := g.live(source, sk)
	g.lsn += int64(1 + r.IntN(3))
	if live && r.IntN(5) == 0 {
		keyOnly := map[string]any{}
		for k, v := range key {
			keyOnly[k] = v
		}
		g.emit(source, key, modelChange{pos: g.lsn, data: keyOnly, deleted: true}, copyRow(old.data), nil, "d")
		return
	}
	row := g.row(source, key)
	op := "c"
	var before map[string]any
	if live {
		op = "u"
		before = copyRow(old.data)
	}
	ch := modelChange{pos: g.lsn, data: copyRow(row)}
	after := copyRow(row)
	// An unchanged TOASTed column: the stored value stays. orders goes
	// through the upsert that reads the old rows; products and lines
	// (whose routes need no old column but the key) through the plain one.
	toastCol := map[string]string{"orders": "note", "products": "name", "lines": "note"}[source]
	if live && toastCol != "" && r.IntN(3) == 0 {
		after[toastCol] = toastPlaceholder
		delete(ch.data, toastCol)
		ch.merge = true
		g.toast++
	}
	g.emit(source, key, ch, before, after, op)
}

func copyRow(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// --- checks ---
