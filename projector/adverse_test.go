package projector_test

// Adverse shapes (opt-in: PROJECTOR_ADVERSE=1): workloads a production
// user will meet — a parent embedded in 100,000 documents, a hot parent
// changing in every batch, aggregation groups of hundreds of thousands of
// rows, 1 MB text columns, a document of 50,000 items, 30 views, five
// levels of nesting — driven through Engine.Process (real PostgreSQL
// state), each measuring the batch that matters (time, bytes allocated,
// peak heap sampled every millisecond, peak RSS) against the bound a user
// would expect. The hot parent, big text (now bounded by
// kafka.batch_bytes, which Engine.Process does not apply) and wide
// documents do not meet theirs yet. Fan-out (in chunks, chunks.go), huge
// groups (kept between batches, groupagg.go), many views and deep nesting
// do.

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// ---------------------------------------------------------------------------
// 1. Huge fan-out.

const fanoutYAML = `
sources:
  users:
    topic: t.public.users
    key: id
    columns: { id: bigint, name: text }
  orders:
    topic: t.public.orders
    key: id
    columns: { id: bigint, user_id: bigint, status: text, amount: bigint }
views:
  order_view:
    from: orders
    fields:
      id: id
      status: status
      amount: amount
      customer:
        one: users
        on: { id: user_id }
        fields: { name: name }
    sinks:
      postgres: { table: order_view }
      redis: { key: "${PREFIX}order:{id}" }
`

// TestAdverseFanOutMemory changes one user embedded in N orders (N = 10k,
// 50k, 100k): one change, one batch. DESIGN invariant 3 says fan-out is
// "applied with backpressure"; memory per batch should then be bounded by
// the batch size, not by N. Fails when the peak heap of the one-record
// batch at N=100k is more than 3× that at N=10k.
func TestAdverseFanOutMemory(t *testing.T) {
	adverseOn(t)
	r, _ := newStackRig(t, fanoutYAML)
	r.process([]projector.Record{r.rec("users", "r", map[string]any{"id": 1, "name": "u1"})})
	loaded := 0
	var first, last *peak
	for _, n := range []int{10_000, 50_000, 100_000} {
		var recs []projector.Record
		for i := loaded + 1; i <= n; i++ {
			recs = append(recs, r.rec("orders", "r", map[string]any{"id": i, "user_id": 1, "status": "paid", "amount": i}))
		}
		r.process(recs)
		loaded = n
		p := r.measure([]projector.Record{r.rec("users", "u", map[string]any{"id": 1, "name": "name-" + strconv.Itoa(n)})})
		var got int
		if err := r.st.Pool.QueryRow(context.Background(), `SELECT count(*) FROM order_view WHERE customer->>'name' = $1`, "name-"+strconv.Itoa(n)).Scan(&got); err != nil {
			t.Fatal(err)
		}
		t.Logf("fan-out %6d: one user change: %s; %.0f bytes/doc allocated, %.1f µs/doc; docs updated %d",
			n, p, float64(p.alloc)/float64(n), float64(p.elapsed.Microseconds())/float64(n), got)
		if got != n {
			t.Errorf("fan-out %d: %d docs carry the new name", n, got)
		}
		if first == nil {
			first = p
		}
		last = p
	}
	if last.peakMB() > 3*first.peakMB() {
		t.Errorf("peak heap of one change grows with its fan-out: +%.1f MB at 10k docs, +%.1f MB at 100k (not bounded by the batch: no backpressure)", first.peakMB(), last.peakMB())
	}
}

// ---------------------------------------------------------------------------
// 2. Aggregations over a few huge groups.

const groupYAML = `
sources:
  orders:
    topic: t.public.orders
    key: id
    columns: { id: bigint, user_id: bigint, status: text, amount: bigint, note: text }
views:
  status_stats:
    from: orders
    where: status != "cancelled"
    group_by: status
    fields:
      status: status
      orders: { agg: count }
      revenue: { agg: sum, of: amount }
    sinks:
      postgres: { table: status_stats }
`

var advStatuses = []string{"new", "paid", "shipped", "delivered", "returned"}

// TestAdverseGroupBySnapshot loads orders into a group_by view with 5
// groups (a snapshot: every batch adds 10,000 rows spread over the groups)
// and then changes one order. Groups are kept between batches (a batch
// recomputing its groups from all their rows read O(N²/batch) rows over a
// snapshot of N). Fails when the last snapshot
// batch takes more than 3× the first, or when a one-record batch's peak
// heap exceeds 64 MB.
func TestAdverseGroupBySnapshot(t *testing.T) {
	adverseOn(t)
	total := 400_000
	if s := os.Getenv("PROJECTOR_ADVERSE_GROUP_ROWS"); s != "" {
		total = must(strconv.Atoi(s))
	}
	r := newCountRig(t, groupYAML)
	var firstBatch, lastBatch time.Duration
	start := time.Now()
	var worst *peak
	for i := 0; i < total; i += r.batch {
		var recs []projector.Record
		for id := i + 1; id <= i+r.batch; id++ {
			recs = append(recs, r.rec("orders", "r", map[string]any{"id": id, "user_id": id % 1000, "status": advStatuses[id%5], "amount": id % 997}))
		}
		p := r.measure(recs)
		if i == 0 {
			firstBatch = p.elapsed
		}
		lastBatch = p.elapsed
		if worst == nil || p.peakMB() > worst.peakMB() {
			worst = p
		}
		if n := i + r.batch; n%100_000 == 0 {
			t.Logf("snapshot at %7d rows: batch of 10,000: %s (elapsed %v)", n, p, time.Since(start).Round(time.Second))
		}
	}
	t.Logf("snapshot of %d rows: %v (%.0f rows/s); first batch %v, last %v; worst batch peak heap +%.1f MB",
		total, time.Since(start).Round(time.Millisecond), float64(total)/time.Since(start).Seconds(), firstBatch.Round(time.Millisecond), lastBatch.Round(time.Millisecond), worst.peakMB())
	one := r.measure([]projector.Record{r.rec("orders", "u", map[string]any{"id": 1, "user_id": 1, "status": "paid", "amount": 5})})
	t.Logf("one order changing group (%d rows per group): %s", total/5, one)
	if lastBatch > 3*firstBatch {
		t.Errorf("a snapshot batch's time grows with the rows loaded before it: first %v, last %v", firstBatch, lastBatch)
	}
	if one.peakMB() > 64 {
		t.Errorf("one changed row of a group_by view: peak heap +%.1f MB (> 64 MB) for groups of %d rows", one.peakMB(), total/5)
	}
}

// ---------------------------------------------------------------------------
// 3. Wide documents.

const wideYAML = `
sources:
  orders:
    topic: t.public.orders
    key: id
    columns: { id: bigint, status: text }
  items:
    topic: t.public.items
    key: id
    columns: { id: bigint, order_id: bigint, qty: bigint, sku: text }
views:
  order_view:
    from: orders
    fields:
      id: id
      status: status
      items:
        many: items
        on: { order_id: id }
        order_by: id
        fields: { id: id, qty: qty, sku: sku }
      item_count: { agg: count, of: items }
      units: { agg: sum, of: items.qty }
    sinks:
      postgres: { table: order_view }
      redis: { key: "${PREFIX}order:{id}" }
`

// TestAdverseWideDocument builds one order with 50,000 items, then changes
// one item per batch, as a trickle of changes does: each batch rebuilds and
// writes the whole document. Fails when a one-item batch's peak heap is
// more than 20× the document's JSON size.
func TestAdverseWideDocument(t *testing.T) {
	adverseOn(t)
	const items = 50_000
	r, prefix := newStackRig(t, wideYAML)
	recs := []projector.Record{r.rec("orders", "r", map[string]any{"id": 1, "status": "open"})}
	for i := 1; i <= items; i++ {
		recs = append(recs, r.rec("items", "r", map[string]any{"id": i, "order_id": 1, "qty": i % 7, "sku": fmt.Sprintf("sku-%08d", i)}))
	}
	start := time.Now()
	r.process(recs)
	t.Logf("load of 50,000 items into one order, 10,000 a batch: %v", time.Since(start).Round(time.Millisecond))
	size := must(r.st.Redis.StrLen(context.Background(), prefix+"order:1").Result())
	var times []time.Duration
	var worst *peak
	for k := range 5 {
		p := r.measure([]projector.Record{r.rec("items", "u", map[string]any{"id": 1 + k, "order_id": 1, "qty": 100 + k, "sku": "changed"})})
		times = append(times, p.elapsed)
		if worst == nil || p.peakMB() > worst.peakMB() {
			worst = p
		}
	}
	t.Logf("document of %d items: %d bytes JSON in Redis; one item change per batch: %v; worst %s", items, size, times, worst)
	if worst.peakMB()*1e6 > 20*float64(size) {
		t.Errorf("one item change of a %d-byte document: peak heap +%.1f MB (%.0f× the document)", size, worst.peakMB(), worst.peakMB()*1e6/float64(size))
	}
}

// ---------------------------------------------------------------------------
// 4. Large text columns.

const bigTextYAML = `
sources:
  posts:
    topic: t.public.posts
    key: id
    columns: { id: bigint, title: text, body: text }
views:
  post_view:
    from: posts
    fields: { id: id, title: title, body: body }
    sinks:
      postgres: { table: post_view }
      redis: { key: "${PREFIX}post:{id}" }
`

// TestAdverseBigText projects a batch of 100 rows with a 1 MB text column
// each (100 MB of column text, 100+ MB of records) into PostgreSQL and
// Redis, and reports the peak heap over the batch's record bytes. Fails
// when the amplification exceeds 8×. A batch is bounded by record count
// (kafka.batch_size, 10,000), not bytes.
func TestAdverseBigText(t *testing.T) {
	adverseOn(t)
	r, _ := newStackRig(t, bigTextYAML)
	body := strings.Repeat("lorem ipsum ", 1<<20/12)
	var recs []projector.Record
	var raw int
	for i := 1; i <= 100; i++ {
		rec := r.rec("posts", "r", map[string]any{"id": i, "title": "t" + strconv.Itoa(i), "body": body})
		raw += len(rec.Value)
		recs = append(recs, rec)
	}
	p := r.measure(recs)
	amp := p.peakMB() * 1e6 / float64(raw)
	t.Logf("100 rows × %d-byte text: records %.1f MB; batch %s; peak heap %.1f× the records", len(body), float64(raw)/1e6, p, amp)
	if amp > 8 {
		t.Errorf("peak heap %.1f× the batch's record bytes", amp)
	}
}

// ---------------------------------------------------------------------------
// 5. Many views over one source.

// TestAdverseManyViews projects the same 10,000 product changes into 1, 10
// and 30 one-to-one views (each its own PostgreSQL table), and reports the
// time per view and doc. Fails when the time per doc at 30 views exceeds
// 2× that at 1 view (super-linear in the number of views).
func TestAdverseManyViews(t *testing.T) {
	adverseOn(t)
	perDoc := map[int]float64{}
	for _, nviews := range []int{1, 10, 30} {
		var b strings.Builder
		b.WriteString(`
sources:
  products:
    topic: t.public.products
    key: id
    columns: { id: bigint, name: text, price: bigint, category: text }
views:
`)
		for v := range nviews {
			fmt.Fprintf(&b, "  pv%d:\n    from: products\n    fields: { id: id, name: name, price: price, category: category }\n    sinks:\n      postgres: { table: pv%d }\n", v, v)
		}
		r, _ := newStackRig(t, b.String())
		mk := func(round int) []projector.Record {
			var recs []projector.Record
			for i := 1; i <= 10_000; i++ {
				recs = append(recs, r.rec("products", "u", map[string]any{"id": i, "name": fmt.Sprintf("p%d-%d", i, round), "price": i + round, "category": "c"}))
			}
			return recs
		}
		r.process(mk(0))
		p := r.measure(mk(1))
		docs := 10_000 * nviews
		perDoc[nviews] = float64(p.elapsed.Microseconds()) / float64(docs)
		t.Logf("%2d views: batch of 10,000 updates (%d docs): %s; %.1f µs/doc", nviews, docs, p, perDoc[nviews])
	}
	if perDoc[30] > 2*perDoc[1] {
		t.Errorf("time per doc: %.1f µs at 1 view, %.1f µs at 30 views", perDoc[1], perDoc[30])
	}
}

// ---------------------------------------------------------------------------
// 6. Deep nesting with fan-out at each level.

const deepYAML = `
sources:
  a: { topic: t.public.a, key: id, columns: { id: bigint, name: text } }
  b: { topic: t.public.b, key: id, columns: { id: bigint, a_id: bigint } }
  c: { topic: t.public.c, key: id, columns: { id: bigint, b_id: bigint } }
  d: { topic: t.public.d, key: id, columns: { id: bigint, c_id: bigint } }
  e: { topic: t.public.e, key: id, columns: { id: bigint, d_id: bigint, tag_id: bigint } }
  tags: { topic: t.public.tags, key: id, columns: { id: bigint, label: text } }
views:
  a_view:
    from: a
    fields:
      id: id
      name: name
      bs:
        many: b
        on: { a_id: id }
        fields:
          id: id
          cs:
            many: c
            on: { b_id: id }
            fields:
              id: id
              ds:
                many: d
                on: { c_id: id }
                fields:
                  id: id
                  es:
                    many: e
                    on: { d_id: id }
                    fields:
                      id: id
                      tag: { one: tags, on: { id: tag_id }, column: label }
    sinks:
      postgres: { table: a_view }
      redis: { key: "${PREFIX}a:{id}" }
`

// TestAdverseDeepNesting: 5 root docs, 10 children per level (10,000 leaf
// rows per doc, 50,000 in all), a tag joined one-to-one by every leaf.
// Reports one leaf change, one root change and one tag change (the tag
// walks up 5 levels to every root). Fails when a single-row batch's peak
// heap exceeds 256 MB.
func TestAdverseDeepNesting(t *testing.T) {
	adverseOn(t)
	r, prefix := newStackRig(t, deepYAML)
	var recs []projector.Record
	recs = append(recs, r.rec("tags", "r", map[string]any{"id": 1, "label": "t"}))
	id := 0
	for a := 1; a <= 5; a++ {
		recs = append(recs, r.rec("a", "r", map[string]any{"id": a, "name": "a"}))
		for range 10 {
			id++
			b := id
			recs = append(recs, r.rec("b", "r", map[string]any{"id": b, "a_id": a}))
			for range 10 {
				id++
				c := id
				recs = append(recs, r.rec("c", "r", map[string]any{"id": c, "b_id": b}))
				for range 10 {
					id++
					d := id
					recs = append(recs, r.rec("d", "r", map[string]any{"id": d, "c_id": c}))
					for range 10 {
						id++
						recs = append(recs, r.rec("e", "r", map[string]any{"id": id, "d_id": d, "tag_id": 1}))
					}
				}
			}
		}
	}
	start := time.Now()
	r.process(recs)
	t.Logf("load of %d rows (5 docs): %v", len(recs), time.Since(start).Round(time.Millisecond))
	size := must(r.st.Redis.StrLen(context.Background(), prefix+"a:1").Result())
	leaf := r.measure([]projector.Record{r.rec("e", "u", map[string]any{"id": id, "d_id": 4, "tag_id": 1})})
	root := r.measure([]projector.Record{r.rec("a", "u", map[string]any{"id": 1, "name": "renamed"})})
	tag := r.measure([]projector.Record{r.rec("tags", "u", map[string]any{"id": 1, "label": "relabelled"})})
	t.Logf("doc of 11,110 nested rows: %d bytes JSON; leaf change: %s; root change: %s; tag change (5 docs): %s", size, leaf, root, tag)
	for name, p := range map[string]*peak{"leaf": leaf, "root": root, "tag": tag} {
		if p.peakMB() > 256 {
			t.Errorf("%s change: peak heap +%.1f MB", name, p.peakMB())
		}
	}
}

// ---------------------------------------------------------------------------
// 7. A hot parent through the whole consumer (Kafka, pipelined batches).

// TestAdverseHotParentConsumer runs `projector run` (kfake, real PostgreSQL
// and Redis) over 50,000 orders of one user, then over 8 rounds of 1,000
// new orders of other users, with (hot) and without (cold) an update of
// that user in each round. It reports the time to commit the rounds, the
// peak heap and RSS of the process, and whether the member kept its
// partitions. Fails when the hot rounds' peak RSS (VmHWM) exceeds 256 MB.
func TestAdverseHotParentConsumer(t *testing.T) {
	adverseOn(t)
	const fan, rounds, per = 50_000, 8, 1_000
	for _, hot := range []bool{false, true} {
		_, pgURL := testenv.Postgres(t)
		_, prefix := testenv.Redis(t)
		kc := newBenchKafka(t, 1, nil, "t.public.users", "t.public.orders")
		head := strings.Replace(advHead, `kafka: { brokers: "localhost:9092", group: g }`, `kafka: { brokers: "${BROKERS}", group: g, batch_size: 1001 }`, 1)
		cfg, plan := parsePlan(t, head+fanoutYAML, env("BROKERS", brokersOf(kc.addrs), "PG", pgURL, "REDIS", testenv.RedisURL(t), "PREFIX", prefix))
		r := &advRig{t: t, lsn: 100}
		toKgo := func(recs []projector.Record) []*kgo.Record {
			out := make([]*kgo.Record, len(recs))
			for i, rec := range recs {
				out[i] = &kgo.Record{Topic: rec.Topic, Key: rec.Key, Value: rec.Value}
			}
			return out
		}
		load := []projector.Record{r.rec("users", "r", map[string]any{"id": 1, "name": "hot"})}
		for i := 1; i <= fan; i++ {
			load = append(load, r.rec("orders", "r", map[string]any{"id": i, "user_id": 1, "status": "paid", "amount": i}))
		}
		kc.produce(t, toKgo(load))
		m := startBenchMember(t, cfg, plan)
		kc.waitCommitted(t, cfg.Kafka.Group, m)
		var roundRecs [][]projector.Record
		n := 0
		id := fan
		for k := range rounds {
			var recs []projector.Record
			for range per {
				id++
				recs = append(recs, r.rec("orders", "r", map[string]any{"id": id, "user_id": 2 + id%100, "status": "paid", "amount": id}))
			}
			if hot {
				recs = append(recs, r.rec("users", "u", map[string]any{"id": 1, "name": "hot-" + strconv.Itoa(k)}))
			}
			roundRecs = append(roundRecs, recs)
			n += len(recs)
		}
		var lost atomic.Bool
		watch := make(chan struct{})
		go func() {
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			for {
				if !m.cons.Joined() {
					lost.Store(true)
				}
				select {
				case <-watch:
					return
				case <-tick.C:
				}
			}
		}()
		p := startPeak()
		// One round at a time, each committed before the next is produced:
		// the hot user changes in every batch (a steady trickle).
		for _, recs := range roundRecs {
			kc.produce(t, toKgo(recs))
			kc.waitCommitted(t, cfg.Kafka.Group, m)
		}
		p.end()
		close(watch)
		t.Logf("hot=%v: %d rounds of %d orders: %s; %.0f changes/s; VmRSS now %s; partitions lost meanwhile: %v",
			hot, rounds, per, p, float64(n)/p.elapsed.Seconds(), procStatus("VmRSS"), lost.Load())
		if lost.Load() {
			t.Errorf("hot=%v: the member lost its partitions", hot)
		}
		if hwm := hwmMB(); hot && hwm > 256 {
			t.Errorf("a parent of %d docs changing in every batch: peak RSS %.0f MB (> 256 MB, the target for 1,000,000 rows of state; this state holds %d)", fan, hwm, fan+rounds*per+1)
		}
		m.drain(t)
		kc.close()
	}
}

// hwmMB is the process's peak RSS (VmHWM) since startPeak reset it, in MB.
func hwmMB() float64 {
	f := strings.Fields(procStatus("VmHWM"))
	if len(f) == 0 {
		return 0
	}
	kb, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return 0
	}
	return kb * 1024 / 1e6
}
