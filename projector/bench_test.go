package projector_test

// The engine's benchmarks: whole `projector run` pipelines (kfake Kafka in
// process, the real PostgreSQL and Redis of scripts/services.sh), measured
// from records already in Kafka to offsets committed after every sink
// acknowledged them.
//
//	BenchmarkOneToOne  products → product_view in PostgreSQL and Redis, and
//	                   the same rows upserted by plain pgx for comparison
//	BenchmarkShop      examples/shop/projector.yaml over the shop's stream
//	BenchmarkLatency   Kafka append → visible in Redis at a steady 2,000/s
//	BenchmarkMemory1M  peak RSS of a `projector run` process projecting 1M
//	                   rows; opt-in: -bench Memory1M or PROJECTOR_BENCH_1M=1
//
// Each reports its figures with b.ReportMetric; ns/op is the time of one
// whole run and says little. Besides changes/s (wall clock), the throughput
// benchmarks report the CPU time per change of this process
// (proc_cpu_us/change: the engine, and kfake serving it) and of the
// PostgreSQL backends serving the benchmark's database (pg_cpu_us/change),
// figures that hold better than wall time on a shared machine; and from the
// engine's own metrics the records per batch and the share of the time spent
// in Process (batch_%) and in each sink's writes (postgres_%, redis_%). The
// machine is usually shared: run with -count 3 (or more) and take medians;
// load1 is the load average when the benchmark started.

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"
	"github.com/shopspring/decimal"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/benchutil"
	"github.com/projectorhq/projector/internal/shop"
	"github.com/projectorhq/projector/internal/testenv"
)

// productYAML is a one-to-one view: each products row is one document.
const productYAML = `
version: 1
kafka: { brokers: "${BROKERS}", group: bench }
stores:
  postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }
admin: { listen: "off" }
log: { level: warn }
sources:
  products:
    topic: shop.public.products
    key: id
    columns: { id: bigint, name: text, price: "numeric(10,2)", category: text, updated_at: timestamptz }
views:
  product_view:
    from: products
    fields: { id: id, name: name, price: price, category: category }
    sinks:
      postgres: { table: product_view }
      redis: { key: "${PREFIX}product:{id}" }
`

// benchBatch is the records per batch: the default kafka.batch_size, and the
// batch of the raw upsert baseline.
const benchBatch = config.DefaultBatchSize

// BenchmarkOneToOne projects 100,000 product changes into product_view in
// PostgreSQL and Redis, in two workloads:
//
//	new       over 100,000 ids from empty tables: about 63% inserts and
//	          37% updates, some ids changed twice in a batch
//	existing  over 100,000 products that exist already (created first,
//	          outside the clock): all updates, a service's steady state
//
// The records are in Kafka (3 partitions) before the member starts; the
// clock runs from the member's partition assignment until it has committed
// the last offset. ratio_vs_raw_upsert compares with the best plain pgx
// writer of the same final rows into a table of the same PostgreSQL (with
// the same rows created first): one jsonb_to_recordset upsert per batch
// (config.DefaultBatchSize changes; the last change of an id in a batch
// wins), no Kafka, no state, no Redis; raw_changes/s is its rate,
// cpu_ratio_vs_raw its CPU time (this process and its backends) over the
// engine's. rowwise_changes/s is the other common way to batch upserts,
// one INSERT … ON CONFLICT per row queued in a pgx.Batch per batch (what a
// JDBC sink's batch does); ratio_vs_rowwise_upsert compares with it.
func BenchmarkOneToOne(b *testing.B) {
	b.Run("new", func(b *testing.B) { benchOneToOne(b, false) })
	b.Run("existing", func(b *testing.B) { benchOneToOne(b, true) })
}

func benchOneToOne(b *testing.B, existing bool) {
	const ids, changes = 100_000, 100_000
	load := benchutil.LoadAvg()
	var engine, raw, rowwise, cpu, pgEngine, rawCPU time.Duration
	var stats engineStats
	n := 0
	for b.Loop() {
		b.StopTimer()
		pool, pgURL := testenv.Postgres(b)
		rdb, prefix := testenv.Redis(b)
		cleanRedis(b, rdb, prefix)
		kc := newBenchKafka(b, 3, nil, shop.TopicProducts)
		cfg, plan := parsePlan(b, productYAML, env("BROKERS", brokersOf(kc.addrs), "PG", pgURL, "REDIS", testenv.RedisURL(b), "PREFIX", prefix))
		ps := newProductStream(b)
		var created []benchProduct
		if existing {
			created = everyProduct(ids)
			kc.produce(b, ps.records(created))
			m := startBenchMember(b, cfg, plan)
			kc.waitCommitted(b, cfg.Kafka.Group, m)
			m.drain(b)
		}
		rnd := rand.New(rand.NewPCG(uint64(n), 1))
		rows := randomProducts(rnd, ids, changes)
		kc.produce(b, ps.records(rows))

		m := startBenchMember(b, cfg, plan)
		m.waitJoined(b)
		pg := &pgCPU{pool: pool}
		pg.begin(b)
		cpu0, start := benchutil.ProcessCPU(), time.Now()
		b.StartTimer()
		kc.waitCommitted(b, cfg.Kafka.Group, m)
		b.StopTimer()
		engine += time.Since(start)
		cpu += benchutil.ProcessCPU() - cpu0
		pgEngine += pg.used(b)
		stats.add(m.st.Registry)
		m.drain(b)

		createTable(b, pool, "raw_product_view", created)
		pg.begin(b)
		cpu0 = benchutil.ProcessCPU()
		raw += rawUpsert(b, pool, "raw_product_view", rows)
		rawCPU += benchutil.ProcessCPU() - cpu0 + pg.used(b)
		checkProducts(b, pool, rdb, prefix, append(created, rows...))
		createTable(b, pool, "rowwise_product_view", created)
		rowwise += rowwiseUpsert(b, pool, rows)
		kc.close()
		n += changes
		b.StartTimer()
	}
	b.ReportMetric(float64(n)/engine.Seconds(), "changes/s")
	b.ReportMetric(float64(n)/raw.Seconds(), "raw_changes/s")
	b.ReportMetric(raw.Seconds()/engine.Seconds(), "ratio_vs_raw_upsert")
	b.ReportMetric(float64(n)/rowwise.Seconds(), "rowwise_changes/s")
	b.ReportMetric(rowwise.Seconds()/engine.Seconds(), "ratio_vs_rowwise_upsert")
	reportCPU(b, n, cpu, pgEngine)
	if rawCPU > 0 && cpu > 0 {
		b.ReportMetric(rawCPU.Seconds()/(cpu+pgEngine).Seconds(), "cpu_ratio_vs_raw")
	}
	stats.report(b, engine)
	b.ReportMetric(load, "load1")
}

// BenchmarkShop projects the example shop (examples/shop/projector.yaml:
// order_view with its customer, items and product names; user_order_stats)
// into PostgreSQL and Redis: first a snapshot (5,000 users, 1,000 products,
// 50,000 orders, about 75,000 items), then 30,000 records of changes of
// every kind from internal/shop, where a user's change recomputes their
// orders (about 10) and a product's the orders holding it (about 75). The
// generator sends one pick in four to a few hot rows, so a batch changes
// some rows dozens of times.
// changes/s is the change stream's (tombstones not counted), from the
// member's assignment to its last commit; snapshot_rows/s the snapshot's;
// docs/change how many order_view and user_order_stats docs each change
// recomputed (a doc affected twice in one batch is recomputed once).
func BenchmarkShop(b *testing.B) {
	w := shopWorkload()
	load := benchutil.LoadAvg()
	var snap, engine, cpu, pgEngine time.Duration
	var stats engineStats
	n := 0
	for b.Loop() {
		b.StopTimer()
		pool, pgURL := testenv.Postgres(b)
		rdb, prefix := testenv.Redis(b)
		cleanRedis(b, rdb, prefix)
		kc := newBenchKafka(b, 3, nil, shopTopics...)
		cfg, plan := parsePlan(b, shopYAML(b, prefix), env(
			"PROJECTOR_KAFKA_BROKERS", brokersOf(kc.addrs), "PROJECTOR_POSTGRES_URL", pgURL,
			"PROJECTOR_REDIS_URL", testenv.RedisURL(b), "PROJECTOR_ELASTICSEARCH_URL", "",
			"PROJECTOR_GROUP", "bench", "PROJECTOR_ADMIN_LISTEN", "off"))

		kc.produce(b, records(w.snapshot))
		m := startBenchMember(b, cfg, plan)
		m.waitJoined(b)
		start := time.Now()
		kc.waitCommitted(b, cfg.Kafka.Group, m)
		snap += time.Since(start)
		m.drain(b)

		kc.produce(b, records(w.changes))
		m = startBenchMember(b, cfg, plan)
		m.waitJoined(b)
		pg := &pgCPU{pool: pool}
		pg.begin(b)
		cpu0, start := benchutil.ProcessCPU(), time.Now()
		b.StartTimer()
		kc.waitCommitted(b, cfg.Kafka.Group, m)
		b.StopTimer()
		engine += time.Since(start)
		cpu += benchutil.ProcessCPU() - cpu0
		pgEngine += pg.used(b)
		stats.add(m.st.Registry)
		m.drain(b)

		checkShopCounts(b, pool, w.gen)
		kc.close()
		n += w.changeCount
		b.StartTimer()
	}
	b.ReportMetric(float64(n)/engine.Seconds(), "changes/s")
	b.ReportMetric(float64(b.N*len(w.snapshot))/snap.Seconds(), "snapshot_rows/s")
	reportCPU(b, n, cpu, pgEngine)
	b.ReportMetric(stats.docs["postgres"]/float64(n), "docs/change")
	stats.report(b, engine)
	b.ReportMetric(load, "load1")
}

// benchNamed reports whether the -test.bench pattern names the benchmark
// (or part of its name) literally, as opposed to selecting it with ".".
func benchNamed(name string) bool {
	f := flag.Lookup("test.bench")
	return f != nil && strings.Contains(f.Value.String(), name)
}

// ---------------------------------------------------------------------------
// Workloads.

var benchCategories = []string{"books", "games", "garden", "kitchen", "tools"}

// benchProduct is a row of the shop's products table, as the benchmarks change it.
type benchProduct struct {
	ID       int64
	Name     string
	Cents    int64 // price in cents
	Category string
}

// randomProducts makes n changes of products with ids 1..ids, chosen at
// random (so some ids change more than once).
func randomProducts(rnd *rand.Rand, ids, n int) []benchProduct {
	out := make([]benchProduct, n)
	for i := range out {
		id := int64(1 + rnd.IntN(ids))
		out[i] = benchProduct{ID: id, Name: fmt.Sprintf("product %d v%d", id, i), Cents: int64(100 + rnd.IntN(20000)), Category: benchCategories[rnd.IntN(len(benchCategories))]}
	}
	return out
}

// productStream encodes product changes as Debezium's PostgreSQL connector
// writes them with JsonConverter schemas (about 1.9 kB a record), with the
// schemas internal/shop uses and a growing LSN.
type productStream struct {
	valueSchema, keySchema []byte
	lsn, tx                int64
	clock                  time.Time
	created                map[int64]bool
}

func newProductStream(tb testing.TB) *productStream {
	tb.Helper()
	msgs := shop.New(1).Snapshot(0, 1, 0, 0)
	if len(msgs) != 1 || msgs[0].Topic != shop.TopicProducts {
		tb.Fatalf("shop snapshot of one product: %d messages", len(msgs))
	}
	var v, k struct {
		Schema json.RawMessage `json:"schema"`
	}
	if err := json.Unmarshal(msgs[0].Value, &v); err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(msgs[0].Key, &k); err != nil {
		tb.Fatal(err)
	}
	return &productStream{valueSchema: v.Schema, keySchema: k.Schema, lsn: 30_000_000, tx: 900,
		clock: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC), created: map[int64]bool{}}
}

// truncate is a TRUNCATE of products after every record so far: Debezium
// sends it without a key.
func (s *productStream) truncate() *kgo.Record {
	s.lsn += 104
	s.tx++
	s.clock = s.clock.Add(time.Millisecond)
	ts := s.clock.UnixMilli()
	v := fmt.Appendf(nil, `{"schema":%s,"payload":{"before":null,"after":null,"source":{"version":"2.7.3.Final","connector":"postgresql","name":"shop","ts_ms":%d,`+
		`"snapshot":"false","db":"shop","sequence":"[\"%d\",\"%d\"]","schema":"public","table":"products","txId":%d,"lsn":%d,"xmin":null},"op":"t","ts_ms":%d}}`,
		s.valueSchema, ts, s.lsn-8, s.lsn, s.tx, s.lsn, ts+3)
	return &kgo.Record{Topic: shop.TopicProducts, Value: v}
}

func (s *productStream) records(rows []benchProduct) []*kgo.Record {
	out := make([]*kgo.Record, len(rows))
	for i, r := range rows {
		out[i] = s.record(r)
	}
	return out
}

// record is one change of r: a create the first time its id is seen, an
// update afterwards.
func (s *productStream) record(r benchProduct) *kgo.Record {
	s.lsn += 104
	s.tx++
	s.clock = s.clock.Add(time.Millisecond)
	op := "u"
	if !s.created[r.ID] {
		op, s.created[r.ID] = "c", true
	}
	ts := s.clock.UnixMilli()
	v := make([]byte, 0, len(s.valueSchema)+512)
	v = append(v, `{"schema":`...)
	v = append(v, s.valueSchema...)
	v = append(v, `,"payload":{"before":null,"after":{"id":`...)
	v = strconv.AppendInt(v, r.ID, 10)
	v = append(v, `,"name":`...)
	v = strconv.AppendQuote(v, r.Name)
	v = append(v, `,"price":"`...)
	v = append(v, decimalBytes(r.Cents)...)
	v = append(v, `","category":`...)
	v = strconv.AppendQuote(v, r.Category)
	v = append(v, `,"updated_at":"`...)
	v = s.clock.AppendFormat(v, "2006-01-02T15:04:05.000000Z")
	v = append(v, `"},"source":{"version":"2.7.3.Final","connector":"postgresql","name":"shop","ts_ms":`...)
	v = strconv.AppendInt(v, ts, 10)
	v = append(v, `,"snapshot":"false","db":"shop","sequence":"[\"`...)
	v = strconv.AppendInt(v, s.lsn-8, 10)
	v = append(v, `\",\"`...)
	v = strconv.AppendInt(v, s.lsn, 10)
	v = append(v, `\"]","schema":"public","table":"products","txId":`...)
	v = strconv.AppendInt(v, s.tx, 10)
	v = append(v, `,"lsn":`...)
	v = strconv.AppendInt(v, s.lsn, 10)
	v = append(v, `,"xmin":null},"op":"`...)
	v = append(v, op...)
	v = append(v, `","ts_ms":`...)
	v = strconv.AppendInt(v, ts+3, 10)
	v = append(v, `}}`...)
	k := make([]byte, 0, len(s.keySchema)+48)
	k = append(k, `{"schema":`...)
	k = append(k, s.keySchema...)
	k = append(k, `,"payload":{"id":`...)
	k = strconv.AppendInt(k, r.ID, 10)
	k = append(k, `}}`...)
	return &kgo.Record{Topic: shop.TopicProducts, Key: k, Value: v}
}

// decimalBytes is a non-negative unscaled decimal as Debezium's precise
// decimal handling writes it: minimal big-endian two's complement, base64.
func decimalBytes(unscaled int64) string {
	var buf [9]byte
	binary.BigEndian.PutUint64(buf[1:], uint64(unscaled))
	i := 1
	for i < 8 && buf[i] == 0 && buf[i+1]&0x80 == 0 {
		i++
	}
	if buf[i]&0x80 != 0 {
		i-- // a leading zero keeps it positive
	}
	return base64.StdEncoding.EncodeToString(buf[i:])
}

func centsText(c int64) string { return fmt.Sprintf("%d.%02d", c/100, c%100) }

// rowwiseUpsert writes every change of rows into rowwise_product_view, an
// upsert statement per change sent in one pgx.Batch per benchBatch changes,
// and returns the time it took. The table must then equal the raw one.
func rowwiseUpsert(tb testing.TB, pool *pgxpool.Pool, rows []benchProduct) time.Duration {
	tb.Helper()
	ctx := context.Background()
	const upsert = `INSERT INTO rowwise_product_view (id, name, price, category) VALUES ($1, $2, $3::numeric, $4)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, price = excluded.price, category = excluded.category`
	start := time.Now()
	for len(rows) > 0 {
		batch := rows[:min(benchBatch, len(rows))]
		rows = rows[len(batch):]
		b := &pgx.Batch{}
		for _, r := range batch {
			b.Queue(upsert, r.ID, r.Name, centsText(r.Cents), r.Category)
		}
		if err := pool.SendBatch(ctx, b).Close(); err != nil {
			tb.Fatal(err)
		}
	}
	took := time.Since(start)
	var differ int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM rowwise_product_view w FULL JOIN raw_product_view r USING (id)
		WHERE (w.name, w.price, w.category) IS DISTINCT FROM (r.name, r.price, r.category)`).Scan(&differ); err != nil {
		tb.Fatal(err)
	}
	if differ != 0 {
		tb.Fatalf("the row-wise upserts left %d rows that differ from the raw upsert's", differ)
	}
	return took
}

// createTable creates a product table as a plain writer would, holding rows.
func createTable(tb testing.TB, pool *pgxpool.Pool, table string, rows []benchProduct) {
	tb.Helper()
	if _, err := pool.Exec(context.Background(), `CREATE TABLE `+table+` (id bigint PRIMARY KEY, name text, price numeric(10,2), category text)`); err != nil {
		tb.Fatal(err)
	}
	if len(rows) > 0 {
		rawUpsert(tb, pool, table, rows)
	}
}

// everyProduct is one create of each of ids products.
func everyProduct(ids int) []benchProduct {
	out := make([]benchProduct, ids)
	for i := range out {
		id := int64(i + 1)
		out[i] = benchProduct{ID: id, Name: fmt.Sprintf("product %d", id), Cents: 100 + id%20000, Category: benchCategories[i%len(benchCategories)]}
	}
	return out
}

// rawUpsert writes the final values of rows into table the way a
// hand-written consumer would, in batches of benchBatch changes, and
// returns the time it took (encoding included).
func rawUpsert(tb testing.TB, pool *pgxpool.Pool, table string, rows []benchProduct) time.Duration {
	tb.Helper()
	ctx := context.Background()
	upsert := `INSERT INTO ` + table + ` AS t (id, name, price, category)
		SELECT id, name, price, category FROM jsonb_to_recordset($1::jsonb)
			AS x(id bigint, name text, price numeric(10,2), category text)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, price = excluded.price, category = excluded.category`
	start := time.Now()
	last := make(map[int64]int, benchBatch)
	var buf []byte
	for len(rows) > 0 {
		batch := rows[:min(benchBatch, len(rows))]
		rows = rows[len(batch):]
		clear(last)
		for i, r := range batch {
			last[r.ID] = i // ON CONFLICT cannot touch a row twice
		}
		buf = append(buf[:0], '[')
		for i, r := range batch {
			if last[r.ID] != i {
				continue
			}
			if len(buf) > 1 {
				buf = append(buf, ',')
			}
			buf = append(buf, `{"id":`...)
			buf = strconv.AppendInt(buf, r.ID, 10)
			buf = append(buf, `,"name":`...)
			buf = strconv.AppendQuote(buf, r.Name)
			buf = append(buf, `,"price":`...)
			buf = append(buf, centsText(r.Cents)...)
			buf = append(buf, `,"category":`...)
			buf = strconv.AppendQuote(buf, r.Category)
			buf = append(buf, '}')
		}
		buf = append(buf, ']')
		if _, err := pool.Exec(ctx, upsert, buf); err != nil {
			tb.Fatal(err)
		}
	}
	return time.Since(start)
}

// checkProducts checks that product_view holds what the raw writer wrote,
// and a sample of the Redis docs: a benchmark of a broken pipeline would
// measure nothing.
func checkProducts(tb testing.TB, pool *pgxpool.Pool, rdb *goredis.Client, prefix string, rows []benchProduct) {
	tb.Helper()
	ctx := context.Background()
	final := map[int64]benchProduct{}
	for _, r := range rows {
		final[r.ID] = r
	}
	var views, same int
	err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM product_view),
		(SELECT count(*) FROM product_view v JOIN raw_product_view r USING (id)
		 WHERE v.name = r.name AND v.price = r.price AND v.category = r.category)`).Scan(&views, &same)
	if err != nil {
		tb.Fatal(err)
	}
	if views != len(final) || same != len(final) {
		tb.Fatalf("product_view has %d rows, %d equal to the raw upsert's, want %d", views, same, len(final))
	}
	n := 0
	for id, r := range final {
		if n++; n > 100 {
			break
		}
		raw, err := rdb.Get(ctx, prefix+"product:"+strconv.FormatInt(id, 10)).Bytes()
		if err != nil {
			tb.Fatalf("redis product %d: %v", id, err)
		}
		var doc struct {
			Name  string      `json:"name"`
			Price json.Number `json:"price"`
		}
		err = json.Unmarshal(raw, &doc)
		if err == nil {
			var price decimal.Decimal
			price, err = decimal.NewFromString(doc.Price.String())
			if err == nil && (doc.Name != r.Name || !price.Equal(decimal.New(r.Cents, -2))) {
				err = errors.New("differs")
			}
		}
		if err != nil {
			tb.Fatalf("redis product %d = %s (%v), want name %q price %s", id, raw, err, r.Name, centsText(r.Cents))
		}
	}
}

// shopRun is the shop's stream, made once per process.
type shopRun struct {
	gen               *shop.Generator
	snapshot, changes []shop.Message
	changeCount       int // changes, tombstones not counted
}

var shopWorkload = sync.OnceValue(func() shopRun {
	g := shop.New(42)
	w := shopRun{gen: g, snapshot: g.Snapshot(5000, 1000, 50_000, 3), changes: g.Changes(30_000)}
	for _, m := range w.changes {
		if m.Value != nil {
			w.changeCount++
		}
	}
	return w
})

// shopYAML is the example configuration with the Redis keys under prefix.
func shopYAML(tb testing.TB, prefix string) string {
	tb.Helper()
	b, err := os.ReadFile("../examples/shop/projector.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	return strings.NewReplacer(`"order:{id}"`, `"`+prefix+`order:{id}"`, `"user:{user_id}:stats"`, `"`+prefix+`user:{user_id}:stats"`).Replace(string(b))
}

// checkShopCounts checks that the views have as many docs as the oracle.
func checkShopCounts(tb testing.TB, pool *pgxpool.Pool, gen *shop.Generator) {
	tb.Helper()
	var orders, stats int
	if err := pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM order_view), (SELECT count(*) FROM user_order_stats)`).Scan(&orders, &stats); err != nil {
		tb.Fatal(err)
	}
	if want, wantStats := len(gen.Shop.OrderView()), len(gen.Shop.UserOrderStats()); orders != want || stats != wantStats {
		tb.Fatalf("order_view has %d docs, user_order_stats %d; the oracle says %d and %d", orders, stats, want, wantStats)
	}
}

// ---------------------------------------------------------------------------
// The latency watcher.
