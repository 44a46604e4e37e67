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
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

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
