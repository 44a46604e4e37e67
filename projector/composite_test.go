package projector_test

// Convergence of views over composite join keys
// (tenant + order_id, tenant + sku), a group_by over two columns with
// count/sum/min/max/avg and a where, ordered one-to-many arrays and
// nested joins (product ← lines ← orders ← tenants), under a seeded random
// workload: inserts, updates moving either key column, deletes and
// re-creates, replays and reordering across topics, null key columns,
// empty-string and unicode key values that collate differently in Go and
// in PostgreSQL ('a', 'B', 'é', digits), chunks small enough to force
// deferred chunks and spilling, then a rebuild from the state (DocIDs
// paged by a small limit, RecomputeDocs). Every final document, of the
// engine's output, of the PostgreSQL sink table and of Redis, is compared
// with a plain join/group over the final source rows (PROJECTOR_COMPOSITE_SEED=N reruns
// one seed).

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	pgsink "github.com/projectorhq/projector/sinks/postgres"
	redissink "github.com/projectorhq/projector/sinks/redis"
)

const compYAML = `
sources:
  tenants: { topic: t.public.tenants, format: json, key: tenant, columns: { tenant: text, name: text } }
  orders: { topic: t.public.orders, format: json, key: [tenant, order_id], columns: { tenant: text, order_id: text, status: text } }
  products: { topic: t.public.products, format: json, key: [tenant, sku], columns: { tenant: text, sku: text, name: text, cat: text } }
  lines: { topic: t.public.lines, format: json, key: id, columns: { id: bigint, tenant: text, order_id: text, sku: text, qty: integer, price: "numeric(10,2)", pos: integer, label: text } }
views:
  order_view:
    from: orders
    where: status != "void"
    fields:
      tenant: tenant
      order_id: order_id
      status: status
      tenant_name: { one: tenants, on: { tenant: tenant }, column: name }
      lines:
        many: lines
        on: { tenant: tenant, order_id: order_id }
        where: qty > 0
        order_by: [pos, -label]
        fields:
          id: id
          sku: sku
          qty: qty
          price: price
          label: label
          product: { one: products, on: { tenant: tenant, sku: sku }, fields: { name: name, cat: cat } }
      n_lines: { agg: count, of: lines }
      qty_sum: { agg: sum, of: lines.qty }
      top_label: { agg: max, of: lines.label }
      low_price: { agg: min, of: lines.price }
      mean_price: { agg: avg, of: lines.price }
    sinks:
      postgres: {}
      redis: { key: "PREFIXo:{tenant}:{order_id}" }
  line_stats:
    from: lines
    group_by: [tenant, sku]
    where: qty > 0
    fields:
      tenant: tenant
      sku: sku
      n: { agg: count }
      qty: { agg: sum, of: qty }
      low: { agg: min, of: price }
      high: { agg: max, of: price }
      mean: { agg: avg, of: price }
      first: { agg: min, of: label }
      last: { agg: max, of: label }
      big: { agg: count, where: qty > 1 }
      labels: { agg: count, of: label }
    sinks:
      postgres: {}
      redis: { key: "PREFIXs:{tenant}:{sku}" }
  by_label:
    from: lines
    group_by: label
    where: qty > 0
    fields:
      label: label
      n: { agg: count }
      qty: { agg: sum, of: qty }
      low_sku: { agg: min, of: sku }
    sinks: { postgres: {} }
  by_pos:
    from: lines
    group_by: [pos, tenant]
    id: [ten, p]
    fields:
      p: pos
      ten: tenant
      n: { agg: count }
      top: { agg: max, of: price }
      skus: { agg: count, of: sku }
    sinks: { postgres: {} }
  product_view:
    from: products
    fields:
      tenant: tenant
      sku: sku
      name: name
      sold:
        many: lines
        on: { tenant: tenant, sku: sku }
        order_by: [-qty, label]
        fields:
          id: id
          qty: qty
          order:
            one: orders
            on: { tenant: tenant, order_id: order_id }
            where: status != "void"
            fields: { status: status, tname: { one: tenants, on: { tenant: tenant }, column: name } }
      n_sold: { agg: count, of: sold }
      max_qty: { agg: max, of: sold.qty }
    sinks:
      postgres: {}
`

var (
	compTenants = []string{"", "a", "B", "é", "10", "9", "<&>", "q\"t"}
	compOrders  = []string{"1", "10", "2", "a", "", "É"}
	compSkus    = []string{"a", "B", "é", "1", "10", "", "x\\y", "\u2028", "tab\t"}
	compLabels  = []string{"a", "B", "é", "Z", "10", "9", "", "ä", "<", "\u2028", "[\"x\"]"}
	compPrices  = []string{"1.50", "-0.25", "10.00", "0.00", "2.05", "3.33"}
	compKeyCols = map[string][]string{"tenants": {"tenant"}, "orders": {"tenant", "order_id"}, "products": {"tenant", "sku"}, "lines": {"id"}}
)

type compRow = map[string]any

type compRec struct {
	key         string // source/state key: one key's records stay in order
	rec         projector.Record
	src, rowKey string
	row         compRow // what the change leaves (nil: deleted)
	seq         int
}

type compGen struct {
	rnd  *rand.Rand
	rows map[string]map[string]compRow // source → state key → row
	recs []compRec
	lsn  int64
}

// compStateKey is the state's key text of a row: the value of a single
// key column, else the JSON array of the key columns' texts.
func compStateKey(src string, row compRow) string {
	cols := compKeyCols[src]
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

func (g *compGen) nilOr(v any, pNil int) any {
	if g.rnd.IntN(100) < pNil {
		return nil
	}
	return v
}

func (g *compGen) emit(src string, row compRow, del bool) {
	g.lsn += 10
	key := map[string]any{}
	for _, k := range compKeyCols[src] {
		key[k] = row[k]
	}
	sk := compStateKey(src, row)
	kb, _ := json.Marshal(key)
	tbl := g.rows[src]
	if tbl == nil {
		tbl = map[string]compRow{}
		g.rows[src] = tbl
	}
	old, had := tbl[sk]
	if del && !had {
		return
	}
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
	g.recs = append(g.recs, compRec{key: src + "/" + sk, rec: projector.Record{Topic: "t.public." + src, Key: kb,
		Value: envelope(src, op, before, after, g.lsn)}, src: src, rowKey: sk, row: tbl[sk], seq: len(g.recs)})
}

// pickLive is a live row of src, or nil.
func (g *compGen) pickLive(src string) compRow {
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

func compPick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

func (g *compGen) step() {
	r := g.rnd
	switch x := r.IntN(20); {
	case x < 2: // tenants
		t := compPick(r, compTenants...)
		if r.IntN(6) == 0 {
			g.emit("tenants", compRow{"tenant": t}, true)
			return
		}
		g.emit("tenants", compRow{"tenant": t, "name": g.nilOr(compPick(r, "acme", "Bolt", "élan", "9z"), 15)}, false)
	case x < 6: // orders
		if o := g.pickLive("orders"); o != nil && r.IntN(4) == 0 {
			// A primary key update: the old key deleted, a new one created.
			g.emit("orders", o, true)
			n := compRow{"tenant": o["tenant"], "order_id": o["order_id"], "status": o["status"]}
			if r.IntN(2) == 0 {
				n["tenant"] = compPick(r, compTenants...)
			} else {
				n["order_id"] = compPick(r, compOrders...)
			}
			g.emit("orders", n, false)
			return
		}
		row := compRow{"tenant": compPick(r, compTenants...), "order_id": compPick(r, compOrders...)}
		if r.IntN(7) == 0 {
			g.emit("orders", row, true)
			return
		}
		row["status"] = g.nilOr(compPick(r, "paid", "void", "new"), 10)
		g.emit("orders", row, false)
	case x < 9: // products
		row := compRow{"tenant": compPick(r, compTenants...), "sku": compPick(r, compSkus...)}
		if r.IntN(7) == 0 {
			g.emit("products", row, true)
			return
		}
		row["name"] = g.nilOr(compPick(r, "nut", "Bolt", "écrou"), 10)
		row["cat"] = g.nilOr(compPick(r, "x", "Y", "ü"), 20)
		g.emit("products", row, false)
	default: // lines
		id := int64(1 + r.IntN(40))
		if old := g.rows["lines"][strconv.FormatInt(id, 10)]; old != nil && r.IntN(3) == 0 {
			// Move one of its key columns (or unset it).
			n := compRow{}
			for k, v := range old {
				n[k] = v
			}
			switch r.IntN(4) {
			case 0:
				n["tenant"] = g.nilOr(compPick(r, compTenants...), 15)
			case 1:
				n["order_id"] = g.nilOr(compPick(r, compOrders...), 15)
			case 2:
				n["sku"] = g.nilOr(compPick(r, compSkus...), 15)
			default:
				n["qty"] = g.nilOr(int64(r.IntN(5)-1), 10)
			}
			g.emit("lines", n, false)
			return
		}
		if r.IntN(7) == 0 {
			g.emit("lines", compRow{"id": id}, true)
			return
		}
		g.emit("lines", compRow{"id": id, "tenant": g.nilOr(compPick(r, compTenants...), 8), "order_id": g.nilOr(compPick(r, compOrders...), 8),
			"sku": g.nilOr(compPick(r, compSkus...), 8), "qty": g.nilOr(int64(r.IntN(5)-1), 10), "price": g.nilOr(compPick(r, compPrices...), 15),
			"pos": g.nilOr(compPick(r, int64(-1), 0, 2, 10, 9), 25), "label": g.nilOr(compPick(r, compLabels...), 20)}, false)
	}
}

// deliveries shuffles the records across keys (each key's in order) and
// replays some earlier ones.
func (g *compGen) deliveries() []compRec {
	r := g.rnd
	queues := map[string][]compRec{}
	var keys []string
	for _, x := range g.recs {
		if _, ok := queues[x.key]; !ok {
			keys = append(keys, x.key)
		}
		queues[x.key] = append(queues[x.key], x)
	}
	var out []compRec
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

// ---- the oracle ----

func TestCompositeKeysConverge(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4}
	if s := os.Getenv("PROJECTOR_COMPOSITE_SEED"); s != "" {
		seeds = []uint64{must(strconv.ParseUint(s, 10, 64))}
	}
	if s := os.Getenv("PROJECTOR_COMPOSITE_SEEDS"); s != "" {
		seeds = nil
		for i := range must(strconv.Atoi(s)) {
			seeds = append(seeds, uint64(100+i))
		}
	}
	steps := 500
	if s := os.Getenv("R27K_STEPS"); s != "" {
		steps = must(strconv.Atoi(s))
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("FAILED with seed %d: PROJECTOR_COMPOSITE_SEED=%d go test -run TestCompositeKeysConverge ./projector/", seed, seed)
				}
			})
			rdb, prefix := testenv.Redis(t)
			yaml := strings.ReplaceAll(compYAML, "PREFIX", prefix)
			_, plan := loadPlan(t, reviewHead+yaml, nil)
			ctx := context.Background()
			pool := compICUPool(t)
			if seed%2 == 0 {
				pool, _ = testenv.Postgres(t) // a C-collated database
			}
			chunk := []int{1, 2, 3, 1}[seed%4]
			pg, err := pgsink.New(pool, stack.PostgresViews(plan))
			if err != nil {
				t.Fatal(err)
			}
			if err := pg.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			rs, err := redissink.New(rdb, stack.RedisViews(plan), redissink.Options{})
			if err != nil {
				t.Fatal(err)
			}
			pgSink, memSink := newViewSink(), newViewSink()
			var pgRoutes []string
			for _, v := range plan.Views {
				if v.Sinks.Redis != nil {
					pgRoutes = append(pgRoutes, v.Name)
				}
			}
			pgEng, err := projector.New(projector.Options{Plan: plan, Pool: pool, ChunkDocs: chunk, Sinks: []projector.Route{
				{Sink: pgSink, Views: viewNames(plan)}, {Sink: pg, Views: viewNames(plan)}, {Sink: rs, Views: pgRoutes}}})
			if err != nil {
				t.Fatal(err)
			}
			if err := pgEng.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			memEng := crEngine(t, plan, nil, chunk, memSink)
			t.Logf("seed %d, chunk %d", seed, chunk)

			g := &compGen{rnd: rand.New(rand.NewPCG(seed, 27)), rows: map[string]map[string]compRow{}}
			for range steps {
				g.step()
			}
			recs := g.deliveries()
			type at struct {
				seq int
				row compRow
			}
			state := map[string]map[string]at{}
			for start := 0; start < len(recs); {
				n := 1 + g.rnd.IntN(20)
				var batch []projector.Record
				for _, x := range recs[start:min(start+n, len(recs))] {
					batch = append(batch, x.rec)
					if state[x.src] == nil {
						state[x.src] = map[string]at{}
					}
					if old, ok := state[x.src][x.rowKey]; !ok || old.seq <= x.seq {
						state[x.src][x.rowKey] = at{x.seq, x.row}
					}
				}
				start += n
				for name, eng := range map[string]*projector.Engine{"postgres": pgEng, "memory": memEng} {
					dead, err := eng.Process(ctx, batch)
					if err != nil {
						t.Fatalf("seed %d: %s: %v", seed, name, err)
					}
					for _, d := range dead {
						t.Fatalf("seed %d: %s: dead letter: %v", seed, name, d.Err)
					}
				}
				if g.rnd.IntN(8) == 0 {
					// A rebuild from the state mid-stream, written to
					// the sinks as a rebuild's catch-up writes them.
					view := compPick(g.rnd, "order_view", "line_stats", "product_view", "by_label", "by_pos")
					for name, eng := range map[string]*projector.Engine{"postgres": pgEng, "memory": memEng} {
						docs := compRebuildDocs(t, eng, view, 1+g.rnd.IntN(3))
						if err := eng.WriteDocs(ctx, eng.Routes(), docs); err != nil {
							t.Fatalf("seed %d: %s: write rebuilt docs: %v", seed, name, err)
						}
					}
				}
				rows := map[string]map[string]compRow{}
				for src, m := range state {
					rows[src] = map[string]compRow{}
					for k, a := range m {
						if a.row != nil {
							rows[src][k] = a.row
						}
					}
				}
				w := compOracle(rows)
				if compDiff(t, "postgres engine", compSinkDocs(pgSink), w)+compDiff(t, "memory engine", compSinkDocs(memSink), w) > 0 {
					t.Fatalf("seed %d: after the batch ending at record %d of %d", seed, start, len(recs))
				}
			}
			want := compOracle(g.rows)
			t.Logf("%d records, %d docs", len(recs), len(want))
			compDiff(t, "postgres table", compTableDocs(t, pool), want)
			redisWant := map[string]map[string]any{}
			for k, v := range want {
				if strings.HasPrefix(k, "order_view/") || strings.HasPrefix(k, "line_stats/") {
					redisWant[k] = v
				}
			}
			compDiff(t, "redis", compRedisDocs(t, rdb, prefix), redisWant)
			for _, limit := range []int{1, 2, 3} {
				compDiff(t, fmt.Sprintf("postgres rebuild (limit %d)", limit), compRebuild(t, pgEng, limit), want)
				compDiff(t, fmt.Sprintf("memory rebuild (limit %d)", limit), compRebuild(t, memEng, limit), want)
			}
		})
	}
}
