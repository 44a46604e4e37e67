package projector_test

// A seeded randomized differential test of COMBINED language features in
// one projection file: a root `where`, a `many:` array with `order_by`
// (descending, nulls first, ties by key text) and `limit:` whose items embed
// a `one:` join that embeds another `one:` (two levels), on composite join
// keys; aggregates `of:` that array (which see every row, not only the
// first N); `expr` fields reading joined fields, at the item's level and
// over the array as the document holds it; a second view grouped by two
// columns with `expr` fields and `one:` joins on every group_by column and
// on a non-leading one; a third grouped on [status, customer_id] joined on
// its non-leading column; and a `limit: 1` array. The workload: inserts,
// updates, deletes, moved foreign keys, primary-key moves, deletes and
// re-creates, truncates, null join keys and group_by values, empty strings,
// numeric edge values, replays, reordering across keys, small batches,
// chunks of 1–3 documents (deferred chunks and spilling), a crash between a
// batch's state commit and its writes followed by a restart (Recover and a
// redelivery), and finally two PostgreSQL instances on one state consuming
// different topics concurrently. Every document of the engine's output
// (PostgreSQL and memory state) and of the PostgreSQL view tables is
// compared with a plain in-memory join over the source rows.
//
// R32B_SEED=N reruns one seed; R32B_SEEDS=N runs N seeds from 1000.

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"
	"github.com/shopspring/decimal"

	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	pgsink "github.com/projectorhq/projector/sinks/postgres"
	redissink "github.com/projectorhq/projector/sinks/redis"
)

const r32bYAML = `
sources:
  vendors:   { topic: t.public.vendors, format: json, key: id, columns: { id: bigint, name: text, country: text } }
  shops:     { topic: t.public.shops, format: json, key: code, columns: { code: text, name: text, region: text } }
  customers: { topic: t.public.customers, format: json, key: id, columns: { id: bigint, name: text, tier: text } }
  products:  { topic: t.public.products, format: json, key: [shop, sku], columns: { shop: text, sku: text, name: text, vendor_id: bigint, weight: "numeric(10,3)" } }
  orders:    { topic: t.public.orders, format: json, key: [shop, order_no], columns: { shop: text, order_no: bigint, customer_id: bigint, status: text } }
  lines:     { topic: t.public.lines, format: json, key: id, columns: { id: bigint, shop: text, order_no: bigint, sku: text, qty: integer, price: "numeric(12,4)", pos: integer } }
views:
  order_doc:
    from: orders
    where: status != "void" and order_no != 10
    fields:
      shop: shop
      order_no: order_no
      status: status
      customer: { one: customers, on: { id: customer_id }, fields: { name: name, tier: tier } }
      who: { expr: 'customer == nil ? "nobody" : (customer.name ?? "anon")', type: text }
      lines:
        many: lines
        on: { shop: shop, order_no: order_no }
        where: qty > 0
        order_by: [-price, pos]
        limit: 3
        fields:
          id: id
          sku: sku
          qty: qty
          price: price
          pos: pos
          product:
            one: products
            on: { shop: shop, sku: sku }
            fields:
              name: name
              vendor: { one: vendors, on: { id: vendor_id }, where: country != "de", fields: { name: name, country: country } }
          vname: { expr: 'product == nil || product.vendor == nil ? "-" : (product.vendor.name ?? "?")', type: text }
      n_lines: { agg: count, of: lines }
      qty_sum: { agg: sum, of: lines.qty }
      max_price: { agg: max, of: lines.price }
      avg_price: { agg: avg, of: lines.price }
      shown: { expr: 'len(lines)', type: bigint }
      top_vname: { agg: max, of: lines.vname }
      n_products: { agg: count, of: lines.product }
      first_vendor: { expr: 'len(lines) == 0 ? "" : lines[0].vname', type: text }
    sinks: { postgres: {}, redis: { key: "PREFIXo:{shop}:{order_no}" } }
  top_line:
    from: orders
    fields:
      shop: shop
      order_no: order_no
      best:
        many: lines
        on: { shop: shop, order_no: order_no }
        order_by: [qty]
        limit: 1
        fields:
          id: id
          qty: qty
          shop_name: { one: shops, on: { code: shop }, column: name }
      n: { agg: count, of: best }
      low: { agg: min, of: best.qty }
    sinks: { postgres: {} }
  line_stats:
    from: lines
    group_by: [sku, shop]
    where: qty >= 0
    fields:
      sku: sku
      shop: shop
      n: { agg: count }
      qty: { agg: sum, of: qty }
      hi: { agg: max, of: price }
      mean: { agg: avg, of: price }
      product: { one: products, on: { shop: shop, sku: sku }, fields: { name: name, weight: weight } }
      shop_info: { one: shops, on: { code: shop }, where: region != "s", fields: { name: name, region: region } }
      label: { expr: 'shop_info == nil ? sku : (shop_info.name ?? "?") + "/" + sku', type: text }
      twice: { expr: 'n * 2', type: bigint }
    sinks: { postgres: {}, redis: { key: "PREFIXs:{sku}:{shop}" } }
  shop_sku:
    from: lines
    group_by: [shop, sku]
    fields:
      shop: shop
      sku: sku
      n: { agg: count }
      lo: { agg: min, of: price }
      info: { one: shops, on: { code: shop }, column: region }
      both: { one: products, on: { sku: sku, shop: shop }, column: name }
      tag: { expr: '(info ?? "none") + "|" + string(n)', type: text }
    sinks: { postgres: {} }
  cust_status:
    from: orders
    group_by: [status, customer_id]
    fields:
      status: status
      customer_id: customer_id
      n: { agg: count }
      cust: { one: customers, on: { id: customer_id }, column: name }
      tag: { expr: '(cust ?? "none") + ":" + status', type: text }
    sinks: { postgres: {} }
`

var (
	r32bKeyCols = map[string][]string{"vendors": {"id"}, "shops": {"code"}, "customers": {"id"},
		"products": {"shop", "sku"}, "orders": {"shop", "order_no"}, "lines": {"id"}}
	r32bShops   = []string{"", "a", "B", "10", "9", "é", "e", "E", "ß", "ss"}
	r32bOrderNo = []int64{1, 2, 10, -1, 9007199254740993, 9007199254740992, -9223372036854775808}
	r32bSkus    = []string{"", "a", "B", "10", "x y"}
	r32bPrices  = []string{"0.0001", "1.5000", "1.5", "10.0000", "9.9999", "99999999.9999", "-0.5000", "0", "3.3333"}
	r32bWeights = []string{"0.001", "1.000", "-2.5", "12.345"}
	r32bNames   = []string{"", "Ann", "Bob", "é", "10"}
	r32bStatus  = []string{"paid", "void", "new", ""}
	r32bLineIDs = 60
	r32bViews   = []string{"order_doc", "top_line", "line_stats", "shop_sku", "cust_status"}
	r32bIDCols  = map[string][]string{"order_doc": {"shop", "order_no"}, "top_line": {"shop", "order_no"},
		"line_stats": {"sku", "shop"}, "shop_sku": {"shop", "sku"}, "cust_status": {"status", "customer_id"}}
)

type r32bRow = map[string]any

type r32bRec struct {
	qkey    string // delivery queue: one key's records stay in order
	src     string
	rowKey  string // "" for a truncate
	row     r32bRow
	rec     projector.Record
	seq     int
	isTrunc bool
}

type r32bGen struct {
	rnd    *rand.Rand
	rows   map[string]map[string]r32bRow
	recs   []r32bRec
	lsn    int64
	truncs int
	dead   map[string][]r32bRow // deleted rows, to re-create
}

func r32bStateKey(src string, row r32bRow) string {
	cols := r32bKeyCols[src]
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

func (g *r32bGen) nilOr(v any, pNil int) any {
	if g.rnd.IntN(100) < pNil {
		return nil
	}
	return v
}

// r32bBiased picks one of the first two values mostly, so that some
// orders have many lines.
func r32bBiased[T any](r *rand.Rand, xs []T) T {
	if r.IntN(10) < 7 {
		return xs[r.IntN(2)]
	}
	return xs[r.IntN(len(xs))]
}

func r32bPick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

func (g *r32bGen) emit(src string, row r32bRow, del bool) {
	key := map[string]any{}
	for _, k := range r32bKeyCols[src] {
		key[k] = row[k]
	}
	sk := r32bStateKey(src, row)
	tbl := g.rows[src]
	if tbl == nil {
		tbl = map[string]r32bRow{}
		g.rows[src] = tbl
	}
	old, had := tbl[sk]
	if del && !had {
		return
	}
	g.lsn += 10
	op := "c"
	var before, after map[string]any
	if del {
		op = "d"
		if g.rnd.IntN(2) == 0 {
			before = key
		} else {
			before = old
		}
		delete(tbl, sk)
		g.dead[src] = append(g.dead[src], old)
	} else {
		if had {
			op = "u"
			if g.rnd.IntN(2) == 0 {
				before = old
			}
		}
		after = row
		tbl[sk] = row
	}
	g.recs = append(g.recs, r32bRec{qkey: src + "/" + sk, src: src, rowKey: sk, row: tbl[sk], seq: len(g.recs),
		rec: projector.Record{Topic: "t.public." + src, Key: must(json.Marshal(key)), Value: envelope(src, op, before, after, g.lsn)}})
}

func (g *r32bGen) truncate(src string) {
	g.lsn += 10
	g.truncs++
	for _, r := range g.rows[src] {
		g.dead[src] = append(g.dead[src], r)
	}
	g.rows[src] = map[string]r32bRow{}
	g.recs = append(g.recs, r32bRec{qkey: fmt.Sprintf("%s/#truncate%d", src, g.truncs), src: src, seq: len(g.recs), isTrunc: true,
		rec: projector.Record{Topic: "t.public." + src, Value: envelope(src, "t", nil, nil, g.lsn)}})
}

func (g *r32bGen) pickLive(src string) r32bRow {
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range g.rows[src] {
			if !yield(k) {
				return
			}
		}
	})
	if len(keys) == 0 {
		return nil
	}
	return g.rows[src][keys[g.rnd.IntN(len(keys))]]
}

func r32bCopy(r r32bRow) r32bRow {
	n := r32bRow{}
	for k, v := range r {
		n[k] = v
	}
	return n
}

func (g *r32bGen) step() {
	r := g.rnd
	// A delete re-created as it was (or with a change).
	if r.IntN(25) == 0 {
		srcs := slices.Sorted(func(yield func(string) bool) {
			for k, v := range g.dead {
				if len(v) > 0 && !yield(k) {
					return
				}
			}
		})
		if len(srcs) > 0 {
			src := r32bPick(r, srcs...)
			row := r32bCopy(r32bPick(r, g.dead[src]...))
			g.emit(src, row, false)
			return
		}
	}
	if r.IntN(400) == 0 {
		g.truncate(r32bPick(r, "lines", "products", "customers", "shops", "vendors", "orders"))
		return
	}
	switch x := r.IntN(30); {
	case x < 1: // vendors
		id := int64(1 + r.IntN(4))
		if r.IntN(6) == 0 {
			g.emit("vendors", r32bRow{"id": id}, true)
			return
		}
		g.emit("vendors", r32bRow{"id": id, "name": g.nilOr(r32bPick(r, r32bNames...), 15), "country": g.nilOr(r32bPick(r, "fr", "de", ""), 20)}, false)
	case x < 3: // shops
		code := r32bPick(r, r32bShops...)
		if r.IntN(6) == 0 {
			g.emit("shops", r32bRow{"code": code}, true)
			return
		}
		g.emit("shops", r32bRow{"code": code, "name": g.nilOr(r32bPick(r, r32bNames...), 15), "region": g.nilOr(r32bPick(r, "n", "s"), 20)}, false)
	case x < 5: // customers
		id := int64(1 + r.IntN(5))
		if r.IntN(6) == 0 {
			g.emit("customers", r32bRow{"id": id}, true)
			return
		}
		g.emit("customers", r32bRow{"id": id, "name": g.nilOr(r32bPick(r, r32bNames...), 15), "tier": g.nilOr(r32bPick(r, "gold", ""), 20)}, false)
	case x < 9: // products
		if p := g.pickLive("products"); p != nil && r.IntN(3) == 0 {
			n := r32bCopy(p)
			n["vendor_id"] = g.nilOr(int64(1+r.IntN(4)), 15) // a moved foreign key
			g.emit("products", n, false)
			return
		}
		row := r32bRow{"shop": r32bPick(r, r32bShops...), "sku": r32bPick(r, r32bSkus...)}
		if r.IntN(7) == 0 {
			g.emit("products", row, true)
			return
		}
		row["name"] = g.nilOr(r32bPick(r, r32bNames...), 10)
		row["vendor_id"] = g.nilOr(int64(1+r.IntN(4)), 15)
		row["weight"] = g.nilOr(r32bPick(r, r32bWeights...), 20)
		g.emit("products", row, false)
	case x < 13: // orders
		if o := g.pickLive("orders"); o != nil && r.IntN(4) == 0 {
			switch r.IntN(3) {
			case 0: // a primary key update: the old key deleted, a new one created
				g.emit("orders", o, true)
				n := r32bCopy(o)
				if r.IntN(2) == 0 {
					n["shop"] = r32bPick(r, r32bShops...)
				} else {
					n["order_no"] = r32bPick(r, r32bOrderNo...)
				}
				g.emit("orders", n, false)
			case 1:
				n := r32bCopy(o)
				n["customer_id"] = g.nilOr(int64(1+r.IntN(5)), 20)
				g.emit("orders", n, false)
			default:
				n := r32bCopy(o)
				n["status"] = g.nilOr(r32bPick(r, r32bStatus...), 15)
				g.emit("orders", n, false)
			}
			return
		}
		row := r32bRow{"shop": r32bPick(r, r32bShops...), "order_no": r32bPick(r, r32bOrderNo...)}
		if r.IntN(7) == 0 {
			g.emit("orders", row, true)
			return
		}
		row["status"] = g.nilOr(r32bPick(r, r32bStatus...), 10)
		row["customer_id"] = g.nilOr(int64(1+r.IntN(5)), 15)
		g.emit("orders", row, false)
	default: // lines
		id := int64(1 + r.IntN(r32bLineIDs))
		if old := g.rows["lines"][strconv.FormatInt(id, 10)]; old != nil && r.IntN(3) == 0 {
			n := r32bCopy(old)
			switch r.IntN(5) {
			case 0:
				n["shop"] = g.nilOr(r32bBiased(r, r32bShops), 15)
			case 1:
				n["order_no"] = g.nilOr(r32bBiased(r, r32bOrderNo), 15)
			case 2:
				n["sku"] = g.nilOr(r32bPick(r, r32bSkus...), 15)
			case 3:
				n["price"] = g.nilOr(r32bPick(r, r32bPrices...), 15)
			default:
				n["qty"] = g.nilOr(int64(r.IntN(5)-1), 10)
			}
			g.emit("lines", n, false)
			return
		}
		if r.IntN(7) == 0 {
			g.emit("lines", r32bRow{"id": id}, true)
			return
		}
		g.emit("lines", r32bRow{"id": id, "shop": g.nilOr(r32bBiased(r, r32bShops), 8), "order_no": g.nilOr(r32bBiased(r, r32bOrderNo), 8),
			"sku": g.nilOr(r32bPick(r, r32bSkus...), 8), "qty": g.nilOr(int64(r.IntN(5)-1), 10), "price": g.nilOr(r32bPick(r, r32bPrices...), 15),
			"pos": g.nilOr(r32bPick(r, int64(0), 1, 2, 10, 9), 25)}, false)
	}
}

// deliveries shuffles the records across keys (each key's in order, a
// truncate a key of its own) and replays some earlier ones.
func (g *r32bGen) deliveries() []r32bRec {
	r := g.rnd
	queues := map[string][]r32bRec{}
	var keys []string
	for _, x := range g.recs {
		if _, ok := queues[x.qkey]; !ok {
			keys = append(keys, x.qkey)
		}
		queues[x.qkey] = append(queues[x.qkey], x)
	}
	var out []r32bRec
	for len(keys) > 0 {
		i := r.IntN(len(keys))
		if r.IntN(3) != 0 {
			i = r.IntN(min(len(keys), 4))
		}
		k := keys[i]
		out = append(out, queues[k][0])
		if len(out) > 1 && r.IntN(10) == 0 {
			out = append(out, out[r.IntN(len(out)-1)]) // a replay
		}
		queues[k] = queues[k][1:]
		if len(queues[k]) == 0 {
			keys = slices.Delete(keys, i, i+1)
		}
	}
	for i := range out {
		out[i].rec.Offset = int64(i)
	}
	return out
}

// r32bState is what the delivered records leave: per key the row of its
// newest record, unless a truncate newer than it was delivered.
type r32bState struct {
	rows map[string]map[string]struct {
		seq int
		row r32bRow
	}
	trunc map[string]int
}

func newR32bState() *r32bState {
	return &r32bState{rows: map[string]map[string]struct {
		seq int
		row r32bRow
	}{}, trunc: map[string]int{}}
}

func (s *r32bState) apply(x r32bRec) {
	if x.isTrunc {
		s.trunc[x.src] = max(s.trunc[x.src], x.seq+1) // rows older than it go
		return
	}
	m := s.rows[x.src]
	if m == nil {
		m = map[string]struct {
			seq int
			row r32bRow
		}{}
		s.rows[x.src] = m
	}
	if old, ok := m[x.rowKey]; !ok || old.seq <= x.seq {
		m[x.rowKey] = struct {
			seq int
			row r32bRow
		}{x.seq, x.row}
	}
}

func (s *r32bState) live() map[string]map[string]r32bRow {
	out := map[string]map[string]r32bRow{}
	for src, m := range s.rows {
		out[src] = map[string]r32bRow{}
		for k, a := range m {
			if a.row != nil && a.seq >= s.trunc[src] {
				out[src][k] = a.row
			}
		}
	}
	return out
}

// ---- the oracle ----

func r32bDec(v any) decimal.Decimal {
	switch x := v.(type) {
	case int64:
		return decimal.NewFromInt(x)
	case string:
		return decimal.RequireFromString(x)
	}
	panic(fmt.Sprintf("r32bDec %T", v))
}

func r32bEq(a, b any) bool { return a != nil && b != nil && a == b }

// r32bCmpNullable orders two values of one column (numbers by value),
// nulls last ascending.
func r32bCmpNullable(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return r32bDec(a).Cmp(r32bDec(b))
}

func r32bAgg(fn string, vals []any) any {
	var nn []any
	for _, v := range vals {
		if v != nil {
			nn = append(nn, v)
		}
	}
	if fn == "count" {
		return int64(len(nn))
	}
	if len(nn) == 0 {
		return nil
	}
	switch fn {
	case "sum":
		s := decimal.Zero
		for _, v := range nn {
			s = s.Add(r32bDec(v))
		}
		if _, ok := nn[0].(int64); ok {
			return s.IntPart()
		}
		return s.String()
	case "avg":
		s := decimal.Zero
		scale := int32(0)
		for _, v := range nn {
			d := r32bDec(v)
			s = s.Add(d)
			if _, isInt := v.(int64); !isInt {
				scale = max(scale, 4) // numeric(12,4)
			}
		}
		return r32bPGDiv(s, int64(len(nn)), scale).String()
	case "min", "max":
		best := nn[0]
		for _, v := range nn[1:] {
			c := r32bDec(v).Cmp(r32bDec(best))
			if (fn == "min" && c < 0) || (fn == "max" && c > 0) {
				best = v
			}
		}
		return best
	}
	panic(fn)
}

// r32bBase10000 is the weight and first digit of x in PostgreSQL's numeric
// representation (base 10,000 digits), 0 and 0 for zero.
func r32bBase10000(x decimal.Decimal) (int, int64) {
	if x.IsZero() {
		return 0, 0
	}
	a := x.Abs()
	coef := a.Coefficient().String()
	e := len(coef) - 1 + int(a.Exponent()) // decimal exponent of the leading digit
	w := e / 4
	if e < 0 && e%4 != 0 {
		w--
	}
	return w, a.Shift(int32(-4 * w)).Truncate(0).IntPart()
}

// r32bPGDiv is PostgreSQL's numeric division sum / n (select_div_scale, then
// rounding half away from zero).
func r32bPGDiv(sum decimal.Decimal, n int64, dscale int32) decimal.Decimal {
	w1, f1 := r32bBase10000(sum)
	w2, f2 := r32bBase10000(decimal.NewFromInt(n))
	q := w1 - w2
	if f1 <= f2 {
		q--
	}
	rscale := int32(16 - q*4)
	rscale = max(rscale, dscale, 0)
	rscale = min(rscale, 1000)
	return sum.DivRound(decimal.NewFromInt(n), rscale)
}

func r32bCol(rows []r32bRow, c string) []any {
	out := make([]any, len(rows))
	for i, r := range rows {
		out[i] = r[c]
	}
	return out
}

func r32bFind(rows map[string]r32bRow, pred func(r32bRow) bool) []r32bRow {
	var out []r32bRow
	for _, r := range rows {
		if pred(r) {
			out = append(out, r)
		}
	}
	return out
}

func r32bOne(rows map[string]r32bRow, pred func(r32bRow) bool) r32bRow {
	m := r32bFind(rows, pred)
	if len(m) > 1 {
		panic("several rows for a one-to-one join")
	}
	if len(m) == 0 {
		return nil
	}
	return m[0]
}

// r32bDocKey names a document by its id fields' values.
func r32bDocKey(view string, fields map[string]any) string {
	var parts []string
	for _, c := range r32bIDCols[view] {
		v := fields[c]
		switch x := v.(type) {
		case float64:
			parts = append(parts, strconv.FormatFloat(x, 'f', -1, 64))
		case json.Number:
			parts = append(parts, x.String())
		default:
			parts = append(parts, fmt.Sprint(x))
		}
	}
	b, _ := json.Marshal(parts)
	return view + "/" + string(b)
}

func r32bPositive(l r32bRow) bool { q, ok := l["qty"].(int64); return ok && q > 0 }

func r32bOracle(rows map[string]map[string]r32bRow) map[string]map[string]any {
	out := map[string]map[string]any{}
	add := func(view string, doc map[string]any) { out[r32bDocKey(view, doc)] = doc }
	linesOf := func(o r32bRow) []r32bRow {
		return r32bFind(rows["lines"], func(l r32bRow) bool {
			return r32bEq(l["shop"], o["shop"]) && r32bEq(l["order_no"], o["order_no"])
		})
	}
	sortLines := func(ls []r32bRow, by ...string) {
		sort.SliceStable(ls, func(i, j int) bool {
			for _, o := range by {
				desc := strings.HasPrefix(o, "-")
				c := strings.TrimPrefix(o, "-")
				k := r32bCmpNullable(ls[i][c], ls[j][c])
				if desc {
					k = -k
				}
				if k != 0 {
					return k < 0
				}
			}
			return fmt.Sprint(ls[i]["id"]) < fmt.Sprint(ls[j]["id"]) // ties: the key's text
		})
	}
	for _, o := range rows["orders"] {
		// top_line: every order.
		ls := linesOf(o)
		sortLines(ls, "qty")
		best := []any{}
		for _, l := range ls[:min(1, len(ls))] {
			var sn any
			if s := r32bOne(rows["shops"], func(s r32bRow) bool { return r32bEq(s["code"], l["shop"]) }); s != nil {
				sn = s["name"]
			}
			best = append(best, map[string]any{"id": l["id"], "qty": l["qty"], "shop_name": sn})
		}
		add("top_line", map[string]any{"shop": o["shop"], "order_no": o["order_no"], "best": best,
			"n": int64(len(ls)), "low": r32bAgg("min", r32bCol(ls, "qty"))})

		// order_doc: where status != "void" (null: out).
		if o["status"] == nil || o["status"] == "void" || o["order_no"] == int64(10) {
			continue
		}
		var customer any
		who := "nobody"
		if c := r32bOne(rows["customers"], func(c r32bRow) bool { return r32bEq(c["id"], o["customer_id"]) }); c != nil {
			customer = map[string]any{"name": c["name"], "tier": c["tier"]}
			who = "anon"
			if c["name"] != nil {
				who = c["name"].(string)
			}
		}
		ls = slices.DeleteFunc(linesOf(o), func(l r32bRow) bool { return !r32bPositive(l) })
		sortLines(ls, "-price", "pos")
		all := []any{} // every row's item: aggregates see them all
		for _, l := range ls {
			var product any
			vname := "-"
			if p := r32bOne(rows["products"], func(p r32bRow) bool { return r32bEq(p["shop"], l["shop"]) && r32bEq(p["sku"], l["sku"]) }); p != nil {
				var vendor any
				if v := r32bOne(rows["vendors"], func(v r32bRow) bool {
					return r32bEq(v["id"], p["vendor_id"]) && v["country"] != nil && v["country"] != "de"
				}); v != nil {
					vendor = map[string]any{"name": v["name"], "country": v["country"]}
					vname = "?"
					if v["name"] != nil {
						vname = v["name"].(string)
					}
				}
				product = map[string]any{"name": p["name"], "vendor": vendor}
			}
			all = append(all, map[string]any{"id": l["id"], "sku": l["sku"], "qty": l["qty"], "price": l["price"], "pos": l["pos"],
				"product": product, "vname": vname})
		}
		items := all[:min(3, len(all))]
		var topV any
		nProducts := int64(0)
		for _, it := range all {
			m := it.(map[string]any)
			if v := m["vname"].(string); topV == nil || v > topV.(string) {
				topV = v
			}
			if m["product"] != nil {
				nProducts++
			}
		}
		first := ""
		if len(items) > 0 {
			first = items[0].(map[string]any)["vname"].(string)
		}
		add("order_doc", map[string]any{"shop": o["shop"], "order_no": o["order_no"], "status": o["status"], "customer": customer, "who": who,
			"lines": items, "n_lines": int64(len(ls)), "qty_sum": r32bAgg("sum", r32bCol(ls, "qty")),
			"max_price": r32bAgg("max", r32bCol(ls, "price")), "avg_price": r32bAgg("avg", r32bCol(ls, "price")),
			"shown": int64(len(items)), "first_vendor": first, "top_vname": topV, "n_products": nProducts})
	}

	// line_stats: group_by [sku, shop] where qty >= 0.
	groups := map[string][]r32bRow{}
	for _, l := range rows["lines"] {
		if l["sku"] == nil || l["shop"] == nil || l["qty"] == nil || l["qty"].(int64) < 0 {
			continue
		}
		k := string(must(json.Marshal([]any{l["sku"], l["shop"]})))
		groups[k] = append(groups[k], l)
	}
	for _, ls := range groups {
		sku, shop := ls[0]["sku"], ls[0]["shop"]
		var product, shopInfo any
		if p := r32bOne(rows["products"], func(p r32bRow) bool { return r32bEq(p["shop"], shop) && r32bEq(p["sku"], sku) }); p != nil {
			product = map[string]any{"name": p["name"], "weight": p["weight"]}
		}
		label := sku.(string)
		if s := r32bOne(rows["shops"], func(s r32bRow) bool { return r32bEq(s["code"], shop) && s["region"] != nil && s["region"] != "s" }); s != nil {
			shopInfo = map[string]any{"name": s["name"], "region": s["region"]}
			name := "?"
			if s["name"] != nil {
				name = s["name"].(string)
			}
			label = name + "/" + sku.(string)
		}
		add("line_stats", map[string]any{"sku": sku, "shop": shop, "n": int64(len(ls)), "qty": r32bAgg("sum", r32bCol(ls, "qty")),
			"hi": r32bAgg("max", r32bCol(ls, "price")), "mean": r32bAgg("avg", r32bCol(ls, "price")),
			"product": product, "shop_info": shopInfo, "label": label, "twice": int64(2 * len(ls))})
	}

	// shop_sku: group_by [shop, sku], no where.
	ss := map[string][]r32bRow{}
	for _, l := range rows["lines"] {
		if l["sku"] == nil || l["shop"] == nil {
			continue
		}
		k := string(must(json.Marshal([]any{l["shop"], l["sku"]})))
		ss[k] = append(ss[k], l)
	}
	for _, ls := range ss {
		sku, shop := ls[0]["sku"], ls[0]["shop"]
		var info, both any
		if p := r32bOne(rows["products"], func(p r32bRow) bool { return r32bEq(p["shop"], shop) && r32bEq(p["sku"], sku) }); p != nil {
			both = p["name"]
		}
		tag := "none"
		if s := r32bOne(rows["shops"], func(s r32bRow) bool { return r32bEq(s["code"], shop) }); s != nil {
			info = s["region"]
			if info != nil {
				tag = info.(string)
			}
		}
		add("shop_sku", map[string]any{"shop": shop, "sku": sku, "n": int64(len(ls)), "lo": r32bAgg("min", r32bCol(ls, "price")),
			"info": info, "both": both, "tag": tag + "|" + strconv.Itoa(len(ls))})
	}

	// cust_status: group_by [status, customer_id].
	cs := map[string][]r32bRow{}
	for _, o := range rows["orders"] {
		if o["status"] == nil || o["customer_id"] == nil {
			continue
		}
		k := string(must(json.Marshal([]any{o["status"], o["customer_id"]})))
		cs[k] = append(cs[k], o)
	}
	for _, os := range cs {
		st, cid := os[0]["status"], os[0]["customer_id"]
		var cust any
		if c := r32bOne(rows["customers"], func(c r32bRow) bool { return r32bEq(c["id"], cid) }); c != nil {
			cust = c["name"]
		}
		tag := "none"
		if cust != nil {
			tag = cust.(string)
		}
		add("cust_status", map[string]any{"status": st, "customer_id": cid, "n": int64(len(os)), "cust": cust, "tag": tag + ":" + st.(string)})
	}
	return out
}

// r32bCanon renders a value as JSON with every number, and every numeric
// text, as its exact decimal value (trailing zeros dropped).
func r32bCanon(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	var x any
	if err := d.Decode(&x); err != nil {
		t.Fatal(err)
	}
	var walk func(any) any
	walk = func(v any) any {
		switch y := v.(type) {
		case map[string]any:
			for k, e := range y {
				if strings.HasPrefix(k, "_") { // a sink's own columns
					delete(y, k)
					continue
				}
				y[k] = walk(e)
			}
		case []any:
			for i, e := range y {
				y[i] = walk(e)
			}
		case json.Number:
			return "#" + decimal.RequireFromString(y.String()).String()
		case string:
			if dd, err := decimal.NewFromString(y); err == nil {
				return "#" + dd.String()
			}
		}
		return v
	}
	out, _ := json.Marshal(walk(x))
	return string(out)
}

func r32bDiff(t *testing.T, where string, got map[string]any, want map[string]map[string]any) int {
	t.Helper()
	bad := 0
	report := func(format string, args ...any) {
		bad++
		if bad <= 6 {
			t.Errorf(where+": "+format, args...)
		}
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range want {
			if !yield(k) {
				return
			}
		}
	}) {
		g, ok := got[k]
		if !ok {
			report("%s missing, want %s", k, r32bCanon(t, want[k]))
			continue
		}
		if gs, ws := r32bCanon(t, g), r32bCanon(t, want[k]); gs != ws {
			report("%s:\n got  %s\n want %s", k, gs, ws)
		}
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range got {
			if !yield(k) {
				return
			}
		}
	}) {
		if _, ok := want[k]; !ok {
			report("%s = %s, want no document", k, r32bCanon(t, got[k]))
		}
	}
	return bad
}

func r32bSinkDocs(s *viewSink) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]any{}
	for _, d := range s.docs {
		if !d.Deleted {
			out[r32bDocKey(d.View, d.Fields)] = d.Fields
		}
	}
	return out
}

func r32bTableDocs(t *testing.T, pool *pgxpool.Pool) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, view := range r32bViews {
		rows, err := pool.Query(context.Background(), `SELECT to_jsonb(v)::text FROM `+view+` v`)
		if err != nil {
			t.Fatal(err)
		}
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range texts {
			d := json.NewDecoder(strings.NewReader(s))
			d.UseNumber()
			var m map[string]any
			if err := d.Decode(&m); err != nil {
				t.Fatal(err)
			}
			out[r32bDocKey(view, m)] = m
		}
	}
	return out
}

func r32bRedisDocs(t *testing.T, rdb *goredis.Client, prefix string) map[string]any {
	t.Helper()
	out := map[string]any{}
	for view, lit := range map[string]string{"order_doc": "o:", "line_stats": "s:"} {
		keys, err := rdb.Keys(context.Background(), prefix+lit+"*").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			d := json.NewDecoder(strings.NewReader(rdb.Get(context.Background(), k).Val()))
			d.UseNumber()
			var m map[string]any
			if err := d.Decode(&m); err != nil {
				t.Fatalf("redis %s: %v", k, err)
			}
			key := r32bDocKey(view, m)
			out[key] = m
			var ids []string
			json.Unmarshal([]byte(strings.TrimPrefix(key, view+"/")), &ids)
			if want := prefix + lit + strings.Join(ids, ":"); want != k {
				t.Errorf("redis key %q holds the document of %q", k, want)
			}
		}
	}
	return out
}

func r32bRebuild(t *testing.T, eng *projector.Engine, limit int) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, view := range r32bViews {
		for _, d := range compRebuildDocs(t, eng, view, limit) {
			if !d.Deleted {
				out[r32bDocKey(view, d.Fields)] = d.Fields
			}
		}
	}
	return out
}

func r32bSeeds(t *testing.T, def []uint64) []uint64 {
	if s := os.Getenv("R32B_SEED"); s != "" {
		return []uint64{must(strconv.ParseUint(s, 10, 64))}
	}
	if s := os.Getenv("R32B_SEEDS"); s != "" {
		var out []uint64
		for i := range must(strconv.Atoi(s)) {
			out = append(out, uint64(1000+i))
		}
		return out
	}
	return def
}

func r32bEngine(t *testing.T, plan any, opts projector.Options) *projector.Engine {
	t.Helper()
	eng, err := projector.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return eng
}

func TestReview32bCombinedFeaturesConverge(t *testing.T) {
	steps := 400
	if s := os.Getenv("R32B_STEPS"); s != "" {
		steps = must(strconv.Atoi(s))
	}
	for _, seed := range r32bSeeds(t, []uint64{1, 2, 3}) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("FAILED with seed %d: R32B_SEED=%d go test -run TestReview32bCombinedFeaturesConverge ./projector/", seed, seed)
				}
			})
			r32bRun(t, seed, steps)
		})
	}
}

func r32bRun(t *testing.T, seed uint64, steps int) {
	ctx := context.Background()
	rdb, prefix := testenv.Redis(t)
	_, plan := loadPlan(t, reviewHead+strings.ReplaceAll(r32bYAML, "PREFIX", prefix), nil)
	var pool *pgxpool.Pool
	if seed%2 == 1 {
		pool = compICUPool(t) // 'a' < 'B' < 'é' there, 'B' < 'a' < 'é' in Go
	} else {
		pool, _ = testenv.Postgres(t)
	}
	chunk := []int{1, 2, 3}[seed%3]
	pg, err := pgsink.New(pool, stack.PostgresViews(plan))
	if err != nil {
		t.Fatal(err)
	}
	if err := pg.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	pgSink, memSink := newViewSink(), newViewSink()
	rs, err := redissink.New(rdb, stack.RedisViews(plan), redissink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	routes := []projector.Route{{Sink: pgSink, Views: viewNames(plan)}, {Sink: pg, Views: viewNames(plan)}, {Sink: rs, Views: []string{"order_doc", "line_stats"}}}
	pgOpts := projector.Options{Plan: plan, Pool: pool, ChunkDocs: chunk, Sinks: routes}
	pgEng := r32bEngine(t, plan, pgOpts)
	memEng := crEngine(t, plan, nil, chunk, memSink)

	g := &r32bGen{rnd: rand.New(rand.NewPCG(seed, 32)), rows: map[string]map[string]r32bRow{}, dead: map[string][]r32bRow{}}
	for range steps {
		g.step()
	}
	recs := g.deliveries()
	split := len(recs) * 3 / 4
	crashAt := g.rnd.IntN(max(1, split/10))
	state := newR32bState()
	check := func(label string) {
		w := r32bOracle(state.live())
		if r32bDiff(t, "postgres engine "+label, r32bSinkDocs(pgSink), w)+r32bDiff(t, "memory engine "+label, r32bSinkDocs(memSink), w) > 0 {
			t.FailNow()
		}
	}
	batchNo := 0
	for start := 0; start < split; batchNo++ {
		n := 1 + g.rnd.IntN(12)
		var batch []projector.Record
		for _, x := range recs[start:min(start+n, split)] {
			batch = append(batch, x.rec)
			state.apply(x)
		}
		start += n
		if batchNo == crashAt || (batchNo > crashAt && g.rnd.IntN(15) == 0) {
			// A crash between the batch's state commit and its writes:
			// a new instance recovers what it left pending, and the
			// batch is delivered again (its offsets were not committed).
			if _, err := pgEng.Prepare(ctx, batch); err != nil {
				t.Fatalf("prepare before the crash: %v", err)
			}
			pgEng = r32bEngine(t, plan, pgOpts)
			if err := pgEng.Recover(ctx); err != nil {
				t.Fatalf("recover: %v", err)
			}
		}
		for name, eng := range map[string]*projector.Engine{"postgres": pgEng, "memory": memEng} {
			dead, err := eng.Process(ctx, batch)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, d := range dead {
				t.Fatalf("%s: dead letter: %v", name, d.Err)
			}
		}
		check(fmt.Sprintf("after the batch ending at record %d of %d", start, len(recs)))
	}

	// Two instances on one state, each consuming some of the topics,
	// concurrently, into the same sinks; the memory engine takes all.
	pgEng2 := r32bEngine(t, plan, pgOpts)
	parts := map[bool][]projector.Record{}
	for _, x := range recs[split:] {
		a := x.src == "orders" || x.src == "customers" || x.src == "vendors"
		parts[a] = append(parts[a], x.rec)
		state.apply(x)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for i, eng := range []*projector.Engine{pgEng, pgEng2} {
		part := parts[i == 0]
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(seed, uint64(i)))
			for start := 0; start < len(part); {
				n := 1 + rnd.IntN(8)
				if _, err := eng.Process(ctx, part[start:min(start+n, len(part))]); err != nil {
					errs <- err
					return
				}
				start += n
			}
		}()
	}
	for start := split; start < len(recs); {
		n := 1 + g.rnd.IntN(12)
		var batch []projector.Record
		for _, x := range recs[start:min(start+n, len(recs))] {
			batch = append(batch, x.rec)
		}
		start += n
		if _, err := memEng.Process(ctx, batch); err != nil {
			t.Fatalf("memory: %v", err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("two instances: %v", err)
	}
	check("after two instances")
	want := r32bOracle(g.rows)
	if w2 := r32bOracle(state.live()); r32bDiff(t, "test's own model", mapAny(w2), want) > 0 {
		t.Fatal("the delivered state differs from the generated rows")
	}
	hist := map[string]int{}
	for _, l := range g.rows["lines"] {
		if r32bPositive(l) {
			hist[fmt.Sprint(l["shop"], "/", l["order_no"])]++
		}
	}
	t.Logf("positive lines per order: %v", hist)
	cut := 0
	for k, d := range want {
		if strings.HasPrefix(k, "order_doc/") && d["n_lines"].(int64) > d["shown"].(int64) {
			cut++
		}
	}
	t.Logf("live rows: lines %d orders %d products %d", len(g.rows["lines"]), len(g.rows["orders"]), len(g.rows["products"]))
	t.Logf("seed %d chunk %d: %d records, %d truncates, %d docs, %d order docs with more lines than the limit", seed, chunk, len(recs), g.truncs, len(want), cut)
	r32bDiff(t, "postgres table", r32bTableDocs(t, pool), want)
	redisWant := map[string]map[string]any{}
	for k, v := range want {
		if strings.HasPrefix(k, "order_doc/") || strings.HasPrefix(k, "line_stats/") {
			redisWant[k] = v
		}
	}
	r32bDiff(t, "redis", r32bRedisDocs(t, rdb, prefix), redisWant)
	for _, limit := range []int{1, 3} {
		r32bDiff(t, fmt.Sprintf("postgres rebuild (limit %d)", limit), r32bRebuild(t, pgEng2, limit), want)
		r32bDiff(t, fmt.Sprintf("memory rebuild (limit %d)", limit), r32bRebuild(t, memEng, limit), want)
	}
}

func mapAny(m map[string]map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}
