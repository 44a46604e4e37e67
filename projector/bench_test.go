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
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"
	"github.com/shopspring/decimal"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/benchutil"
	"github.com/projectorhq/projector/internal/cli"
	"github.com/projectorhq/projector/internal/kafkautil"
	"github.com/projectorhq/projector/internal/shop"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
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

// BenchmarkOneToOne projects 100,000 product changes (over 100,000 ids, so
// about 63% inserts and 37% updates, some ids changed twice in a batch)
// into product_view in PostgreSQL and Redis. The records are in Kafka
// (3 partitions) before the member starts; the clock runs from the
// member's partition assignment until it has committed the last offset.
// ratio_vs_raw_upsert compares with the best plain pgx writer of the same
// final rows into a table of the same PostgreSQL: one jsonb_to_recordset
// upsert per 5,000 changes (the last change of an id in a batch wins), no
// Kafka, no state, no Redis; raw_changes/s is its rate, cpu_ratio_vs_raw
// its CPU time (this process and its backends) over the engine's.
func BenchmarkOneToOne(b *testing.B) {
	const ids, changes = 100_000, 100_000
	load := benchutil.LoadAvg()
	var engine, raw, cpu, pgEngine, rawCPU time.Duration
	var stats engineStats
	n := 0
	for b.Loop() {
		b.StopTimer()
		pool, pgURL := testenv.Postgres(b)
		rdb, prefix := testenv.Redis(b)
		cleanRedis(b, rdb, prefix)
		kc := newBenchKafka(b, 3, nil, shop.TopicProducts)
		cfg, plan := parsePlan(b, productYAML, env("BROKERS", brokersOf(kc.addrs), "PG", pgURL, "REDIS", testenv.RedisURL(b), "PREFIX", prefix))
		rnd := rand.New(rand.NewPCG(uint64(n), 1))
		rows := randomProducts(rnd, ids, changes)
		ps := newProductStream(b)
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

		pg.begin(b)
		cpu0 = benchutil.ProcessCPU()
		raw += rawUpsert(b, pool, rows)
		rawCPU += benchutil.ProcessCPU() - cpu0 + pg.used(b)
		checkProducts(b, pool, rdb, prefix, rows)
		kc.close()
		n += changes
		b.StartTimer()
	}
	b.ReportMetric(float64(n)/engine.Seconds(), "changes/s")
	b.ReportMetric(float64(n)/raw.Seconds(), "raw_changes/s")
	b.ReportMetric(raw.Seconds()/engine.Seconds(), "ratio_vs_raw_upsert")
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

// BenchmarkLatency measures, at a steady 2,000 changes/s for 10 s, the time
// from a change's append to Kafka until a reader sees it in Redis.
//
// The producer (no linger) stamps each record with the time it hands it to
// the client; that time is the start (the record timestamp is the same
// instant truncated to the millisecond). Change i updates product i mod
// 20,000 (each product at most once per run, loaded beforehand) and writes
// "s<i>" into its name. A watcher polls, every millisecond, the Redis docs of
// the 64 oldest changes not yet seen with one MGET, and takes a change as
// visible when its doc holds its name or a later one. One partition keeps
// the changes in order, so the oldest unseen changes are the ones to look
// at; the polling adds at most 1 ms (0.5 ms on average) and costs Redis
// about 1,000 small MGETs a second.
func BenchmarkLatency(b *testing.B) {
	const rate, seconds = 2000, 10
	const ids = rate * seconds
	load := benchutil.LoadAvg()
	_, pgURL := testenv.Postgres(b)
	rdb, prefix := testenv.Redis(b)
	cleanRedis(b, rdb, prefix)
	kc := newBenchKafka(b, 1, []kgo.Opt{kgo.ProducerLinger(0)}, shop.TopicProducts)
	cfg, plan := parsePlan(b, productYAML, env("BROKERS", brokersOf(kc.addrs), "PG", pgURL, "REDIS", testenv.RedisURL(b), "PREFIX", prefix))
	ps := newProductStream(b)
	initial := make([]benchProduct, ids)
	for i := range initial {
		initial[i] = benchProduct{ID: int64(i + 1), Name: "p" + strconv.Itoa(i+1), Cents: 1000, Category: "books"}
	}
	kc.produce(b, ps.records(initial))
	m := startBenchMember(b, cfg, plan)
	kc.waitCommitted(b, cfg.Kafka.Group, m)

	var lat []time.Duration
	var achieved float64
	seq := 0
	for b.Loop() {
		w := &latencyWatcher{rdb: rdb}
		ctx, cancel := context.WithCancel(b.Context())
		watched := make(chan struct{})
		go func() { defer close(watched); w.run(ctx) }()
		produced := make(chan error, 1)
		start := time.Now()
		tick := time.NewTicker(time.Millisecond)
		for sent := 0; sent < rate*seconds; {
			<-tick.C
			due := min(rate*seconds, int(time.Since(start).Seconds()*rate))
			for ; sent < due; sent++ {
				id := int64(seq%ids + 1)
				r := ps.record(benchProduct{ID: id, Name: "s" + strconv.Itoa(seq), Cents: 1000 + int64(seq%5000), Category: "books"})
				at := time.Now()
				r.Timestamp = at
				w.add(latencyChange{seq: seq, key: prefix + "product:" + strconv.FormatInt(id, 10), at: at})
				kc.client.Produce(ctx, r, func(_ *kgo.Record, err error) {
					if err != nil {
						select {
						case produced <- err:
						default:
						}
					}
				})
				seq++
			}
		}
		tick.Stop()
		achieved += rate * seconds / time.Since(start).Seconds()
		select {
		case err := <-produced:
			b.Fatalf("produce: %v", err)
		default:
		}
		w.waitEmpty(b, m, time.Minute)
		cancel()
		<-watched
		if w.err != nil {
			b.Fatal(w.err)
		}
		lat = append(lat, w.lat...)
	}
	m.drain(b)
	b.ReportMetric(achieved/float64(b.N), "changes/s")
	b.ReportMetric(benchutil.Millis(benchutil.Percentile(lat, 50)), "p50_ms")
	b.ReportMetric(benchutil.Millis(benchutil.Percentile(lat, 90)), "p90_ms")
	b.ReportMetric(benchutil.Millis(benchutil.Percentile(lat, 99)), "p99_ms")
	b.ReportMetric(benchutil.Millis(benchutil.Percentile(lat, 100)), "max_ms")
	b.ReportMetric(load, "load1")
}

// BenchmarkMemory1M measures the memory of a `projector run` process of its
// own (the test binary run again, see TestBenchEngineProcess) while it
// projects 1,000,000 product rows, all in Kafka before it starts, into
// product_view in PostgreSQL and Redis. Kafka (kfake) and the producer stay
// in the benchmark process, so they do not count. The engine process
// reports, as it exits: peak_rss_MB, its VmHWM from /proc/self/status (the
// peak resident set since exec; the ru_maxrss a parent gets from wait4 is
// no good here, as Linux counts in it the parent's resident set at the
// fork), peak_heap_MB, the most heap memory in live and unswept objects,
// and peak_go_MB, the most memory the Go runtime had mapped (heap with its
// free spans, stacks, metadata), both sampled every 10 ms with
// runtime/metrics. It takes minutes and writes 2M Redis keys (deleted
// afterwards), so it runs only when -bench names it (-bench Memory1M) or
// PROJECTOR_BENCH_1M is set; PROJECTOR_BENCH_1M=N projects N rows instead.
func BenchmarkMemory1M(b *testing.B) {
	rows := 1_000_000
	if v := os.Getenv("PROJECTOR_BENCH_1M"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 1 {
			rows = n
		}
	} else if !benchNamed("Memory1M") {
		b.Skip("1M rows take minutes: run with -bench Memory1M or PROJECTOR_BENCH_1M=1")
	}
	if _, err := benchutil.ProcMem(0); err != nil {
		b.Skipf("no /proc to read memory from: %v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	load := benchutil.LoadAvg()
	_, pgURL := testenv.Postgres(b)
	rdb, prefix := testenv.Redis(b)
	cleanRedis(b, rdb, prefix)
	kc := newBenchKafka(b, 3, nil, shop.TopicProducts)
	ps := newProductStream(b)
	for from := 1; from <= rows; from += 100_000 {
		chunk := make([]benchProduct, 0, 100_000)
		for id := from; id < from+100_000 && id <= rows; id++ {
			chunk = append(chunk, benchProduct{ID: int64(id), Name: "product " + strconv.Itoa(id), Cents: int64(100 + id%20000), Category: benchCategories[id%len(benchCategories)]})
		}
		kc.produce(b, ps.records(chunk))
	}
	yaml := productYAML
	for k, v := range map[string]string{"${BROKERS}": brokersOf(kc.addrs), "${PG}": pgURL, "${REDIS}": testenv.RedisURL(b), "${PREFIX}": prefix} {
		yaml = strings.ReplaceAll(yaml, k, v)
	}
	file := filepath.Join(b.TempDir(), "projector.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		b.Fatal(err)
	}

	var peak engineMemory
	var elapsed time.Duration
	for b.Loop() {
		var out bytes.Buffer
		cmd := exec.Command(exe, "-test.run=^TestBenchEngineProcess$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "PROJECTOR_BENCH_ENGINE_CONFIG="+file)
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		ctx, cancel := context.WithCancel(b.Context())
		caughtUp := make(chan error, 1)
		go func() { caughtUp <- kafkautil.WaitCaughtUp(ctx, kc.adm, "bench", 30*time.Minute, kc.topics...) }()
		select {
		case err = <-caughtUp:
			elapsed += time.Since(start)
			_ = cmd.Process.Signal(syscall.SIGTERM) // drain, commit, leave
			err = errors.Join(err, <-exited)
		case err = <-exited:
			err = fmt.Errorf("exited before catching up: %w", err)
		}
		cancel()
		if err != nil {
			b.Fatalf("projector run: %v\n%s", err, out.Bytes())
		}
		m, err := parseEngineMemory(out.String())
		if err != nil {
			b.Fatalf("%v\n%s", err, out.Bytes())
		}
		peak.HWM, peak.Heap, peak.Go = max(peak.HWM, m.HWM), max(peak.Heap, m.Heap), max(peak.Go, m.Go)
	}
	b.ReportMetric(benchutil.MB(peak.HWM), "peak_rss_MB")
	b.ReportMetric(benchutil.MB(peak.Heap), "peak_heap_MB")
	b.ReportMetric(benchutil.MB(peak.Go), "peak_go_MB")
	b.ReportMetric(float64(b.N*rows)/elapsed.Seconds(), "rows/s")
	b.ReportMetric(load, "load1")
}

// engineMemory is what TestBenchEngineProcess reports, in bytes.
type engineMemory struct{ HWM, Heap, Go int64 }

const engineMemoryFormat = "engine memory: vmhwm=%d heap=%d go=%d\n"

func parseEngineMemory(out string) (engineMemory, error) {
	var m engineMemory
	i := strings.Index(out, "engine memory: ")
	if i < 0 {
		return m, errors.New("the engine process did not report its memory")
	}
	_, err := fmt.Sscanf(out[i:], engineMemoryFormat, &m.HWM, &m.Heap, &m.Go)
	return m, err
}

// TestBenchEngineProcess is no test: BenchmarkMemory1M runs the test binary
// again with only this selected and PROJECTOR_BENCH_ENGINE_CONFIG set, to
// get `projector run -c FILE` in a process of its own, which reports its
// memory when SIGTERM stops it.
func TestBenchEngineProcess(t *testing.T) {
	file := os.Getenv("PROJECTOR_BENCH_ENGINE_CONFIG")
	if file == "" {
		t.Skip("the engine process of BenchmarkMemory1M")
	}
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/total:bytes"}}
	var heap, total atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(samples)
			heap.Store(max(heap.Load(), int64(samples[0].Value.Uint64())))
			total.Store(max(total.Load(), int64(samples[1].Value.Uint64())))
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	code := cli.Main(context.Background(), []string{"run", "-c", file}, os.Stdout, os.Stderr)
	close(stop)
	<-sampled
	if code != cli.ExitOK {
		t.Fatalf("projector run exited with %d", code)
	}
	m, err := benchutil.ProcMem(0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf(engineMemoryFormat, m.HWM, heap.Load(), total.Load())
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

// rawUpsert writes the final values of rows into raw_product_view the way a
// hand-written consumer would, in batches of benchBatch changes, and
// returns the time it took (encoding included, table creation not).
func rawUpsert(tb testing.TB, pool *pgxpool.Pool, rows []benchProduct) time.Duration {
	tb.Helper()
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE raw_product_view (id bigint PRIMARY KEY, name text, price numeric(10,2), category text)`); err != nil {
		tb.Fatal(err)
	}
	const upsert = `INSERT INTO raw_product_view AS t (id, name, price, category)
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

// latencyChange is a produced change the watcher has not yet seen in Redis.
type latencyChange struct {
	seq int
	key string
	at  time.Time
}

type latencyWatcher struct {
	rdb *goredis.Client
	mu  sync.Mutex
	q   []latencyChange // in produce order
	lat []time.Duration
	err error
}

func (w *latencyWatcher) add(c latencyChange) {
	w.mu.Lock()
	w.q = append(w.q, c)
	w.mu.Unlock()
}

func (w *latencyWatcher) pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.q)
}

// run polls until ctx ends; see BenchmarkLatency.
func (w *latencyWatcher) run(ctx context.Context) {
	const window = 64
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	keys := make([]string, 0, window)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for {
			w.mu.Lock()
			head := append([]latencyChange(nil), w.q[:min(window, len(w.q))]...)
			w.mu.Unlock()
			if len(head) == 0 {
				break
			}
			keys = keys[:0]
			for _, c := range head {
				keys = append(keys, c.key)
			}
			vals, err := w.rdb.MGet(ctx, keys...).Result()
			if err != nil {
				if ctx.Err() == nil {
					w.err = fmt.Errorf("latencyWatcher: %w", err)
				}
				return
			}
			now := time.Now()
			seen := map[int]bool{}
			for i, v := range vals {
				if s, ok := v.(string); ok && seqOf(s) >= head[i].seq {
					seen[head[i].seq] = true
					w.lat = append(w.lat, now.Sub(head[i].at))
				}
			}
			w.mu.Lock()
			rest := w.q[:0]
			for _, c := range w.q {
				if !seen[c.seq] {
					rest = append(rest, c)
				}
			}
			w.q = rest
			w.mu.Unlock()
			if len(seen) < len(head) {
				break
			}
		}
	}
}

// seqOf reads n from a product doc whose name is "s<n>"; -1 otherwise.
func seqOf(doc string) int {
	const mark = `"name":`
	i := strings.Index(doc, mark)
	if i < 0 {
		return -1
	}
	rest := strings.TrimLeft(doc[i+len(mark):], " ")
	if !strings.HasPrefix(rest, `"s`) {
		return -1
	}
	rest = rest[2:]
	j := strings.IndexByte(rest, '"')
	if j < 0 {
		return -1
	}
	n, err := strconv.Atoi(rest[:j])
	if err != nil {
		return -1
	}
	return n
}

// waitEmpty waits until the watcher has seen every change.
func (w *latencyWatcher) waitEmpty(tb testing.TB, m *benchMember, timeout time.Duration) {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for w.pending() > 0 {
		select {
		case <-tick.C:
		case <-deadline.C:
			tb.Fatalf("%d changes not visible in Redis after %s", w.pending(), timeout)
		case err := <-m.done:
			tb.Fatalf("member stopped: %v", err)
		}
	}
}

// pgCPU tracks the CPU time of the PostgreSQL backends serving the
// benchmark's database (each benchmark has one of its own), read from /proc:
// the query PostgreSQL runs on this machine. Zero where /proc is missing.
type pgCPU struct {
	pool  *pgxpool.Pool
	start map[int]time.Duration
}

func (c *pgCPU) backends(tb testing.TB) map[int]time.Duration {
	tb.Helper()
	rows, err := c.pool.Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[int]time.Duration{}
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			tb.Fatal(err)
		}
		if cpu, err := benchutil.ProcCPU(pid); err == nil {
			out[pid] = cpu
		}
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// begin starts a measurement.
func (c *pgCPU) begin(tb testing.TB) { c.start = c.backends(tb) }

// used is the CPU the backends used since begin (backends that came and
// went in between are missed).
func (c *pgCPU) used(tb testing.TB) time.Duration {
	var d time.Duration
	for pid, cpu := range c.backends(tb) {
		d += cpu - c.start[pid]
	}
	return d
}

// ---------------------------------------------------------------------------
// Harness: the helpers of harness_test.go take *testing.T; these take
// testing.TB.

type benchKafka struct {
	cluster *kfake.Cluster
	addrs   []string
	client  *kgo.Client
	adm     *kadm.Client
	topics  []string
}

// newBenchKafka starts an in-process Kafka with the topics and a producer
// client with opts.
func newBenchKafka(tb testing.TB, partitions int32, opts []kgo.Opt, topics ...string) *benchKafka {
	tb.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...))
	if err != nil {
		tb.Fatal(err)
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...)}, opts...)...)
	if err != nil {
		c.Close()
		tb.Fatal(err)
	}
	k := &benchKafka{cluster: c, addrs: c.ListenAddrs(), client: cl, adm: kadm.NewClient(cl), topics: topics}
	tb.Cleanup(k.close)
	return k
}

func (k *benchKafka) close() {
	if k.cluster != nil {
		k.client.Close()
		k.cluster.Close()
		k.cluster = nil
	}
}

func (k *benchKafka) produce(tb testing.TB, recs []*kgo.Record) {
	tb.Helper()
	if err := k.client.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		tb.Fatal(err)
	}
}

// waitCommitted waits until group has committed every offset produced so
// far, checking every 5 ms.
func (k *benchKafka) waitCommitted(tb testing.TB, group string, m *benchMember) {
	tb.Helper()
	ctx := context.Background()
	deadline := time.NewTimer(10 * time.Minute)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := kafkautil.CaughtUp(ctx, k.adm, group, k.topics...)
		if ok {
			return
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			tb.Fatalf("group %s did not catch up (last error: %v)", group, err)
		case err := <-m.done:
			tb.Fatalf("member stopped before catching up: %v", err)
		}
	}
}

func brokersOf(addrs []string) string { return strings.Join(addrs, ",") }

// parsePlan is loadPlan for benchmarks.
func parsePlan(tb testing.TB, yaml string, vars map[string]string) (*config.Config, *projections.Plan) {
	tb.Helper()
	cfg, err := config.Parse("bench.yaml", []byte(yaml), func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	})
	if err != nil {
		tb.Fatalf("config:\n%v", err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		tb.Fatalf("plan:\n%v", err)
	}
	return cfg, plan
}

// benchMember is one running `projector run`, wired like the daemon.
type benchMember struct {
	st     *stack.Stack
	cons   *projector.Consumer
	cancel context.CancelFunc
	stop   chan struct{}
	done   chan error
	closed bool
}

func startBenchMember(tb testing.TB, cfg *config.Config, plan *projections.Plan) *benchMember {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := stack.Wire(ctx, cfg, plan, nil)
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	cons, err := projector.NewConsumer(st.Engine, projector.ConsumerOptions{
		Brokers: cfg.Kafka.Brokers, Group: cfg.Kafka.Group, ClientID: "bench",
		BatchSize: cfg.Kafka.BatchSize, DeadLetterTopic: cfg.Kafka.DeadLetterTopic,
		Extra: []kgo.Opt{kgo.AllowAutoTopicCreation()},
	})
	if err != nil {
		cancel()
		st.Close()
		tb.Fatal(err)
	}
	m := &benchMember{st: st, cons: cons, cancel: cancel, stop: make(chan struct{}), done: make(chan error, 1)}
	go func() { m.done <- cons.Run(ctx, m.stop) }()
	tb.Cleanup(func() { m.drain(tb) })
	return m
}

// waitJoined waits until the member has been assigned its partitions.
func (m *benchMember) waitJoined(tb testing.TB) {
	tb.Helper()
	deadline := time.NewTimer(time.Minute)
	defer deadline.Stop()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !m.cons.Joined() {
		select {
		case <-tick.C:
		case <-deadline.C:
			tb.Fatal("no partitions assigned within a minute")
		case err := <-m.done:
			tb.Fatalf("member stopped: %v", err)
		}
	}
}

// drain stops the member gracefully (once).
func (m *benchMember) drain(tb testing.TB) {
	if m.closed {
		return
	}
	m.closed = true
	close(m.stop)
	if err := <-m.done; err != nil && !errors.Is(err, context.Canceled) {
		tb.Errorf("drain: %v", err)
	}
	m.cancel()
	m.st.Close()
}

// cleanRedis deletes, when the benchmark ends, the doc keys under prefix and
// their rev keys (which testenv.Redis does not know about), in pipelined
// batches.
func cleanRedis(tb testing.TB, rdb *goredis.Client, prefix string) {
	tb.Cleanup(func() {
		ctx := context.Background()
		for _, pattern := range []string{prefix + "*", "projector:rev:{" + prefix + "*"} {
			iter := rdb.Scan(ctx, 0, pattern, 10_000).Iterator()
			batch := make([]string, 0, 1000)
			flush := func() {
				if len(batch) > 0 {
					rdb.Unlink(ctx, batch...)
					batch = batch[:0]
				}
			}
			for iter.Next(ctx) {
				if batch = append(batch, iter.Val()); len(batch) == cap(batch) {
					flush()
				}
			}
			flush()
		}
	})
}

// reportCPU reports the CPU time per change of this process (the engine,
// and kfake serving it) and of the PostgreSQL backends: on a shared machine
// a steadier figure than wall time.
func reportCPU(b *testing.B, changes int, proc, pg time.Duration) {
	if proc > 0 {
		b.ReportMetric(float64(proc.Microseconds())/float64(changes), "proc_cpu_us/change")
	}
	if pg > 0 {
		b.ReportMetric(float64(pg.Microseconds())/float64(changes), "pg_cpu_us/change")
	}
}

// engineStats adds up what the members' registries say about their
// batches, to tell where the time went.
type engineStats struct {
	consumed, batches, batchSeconds float64
	sinkSeconds, docs               map[string]float64
}

func (s *engineStats) add(reg *prometheus.Registry) {
	if s.sinkSeconds == nil {
		s.sinkSeconds, s.docs = map[string]float64{}, map[string]float64{}
	}
	fams, err := reg.Gather()
	if err != nil {
		return
	}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			sink := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "sink" {
					sink = l.GetValue()
				}
			}
			switch f.GetName() {
			case "projector_records_consumed_total":
				s.consumed += m.GetCounter().GetValue()
			case "projector_batch_seconds":
				s.batches += float64(m.GetHistogram().GetSampleCount())
				s.batchSeconds += m.GetHistogram().GetSampleSum()
			case "projector_sink_write_seconds":
				s.sinkSeconds[sink] += m.GetHistogram().GetSampleSum()
			case "projector_docs_written_total":
				s.docs[sink] += m.GetCounter().GetValue()
			}
		}
	}
}

// report adds the average batch and the shares of the measured time spent
// in Process (batch_%) and in each sink's writes.
func (s *engineStats) report(b *testing.B, elapsed time.Duration) {
	if s.batches == 0 {
		return
	}
	b.ReportMetric(s.consumed/s.batches, "records/batch")
	b.ReportMetric(100*s.batchSeconds/elapsed.Seconds(), "batch_%")
	for sink, sec := range s.sinkSeconds {
		b.ReportMetric(100*sec/elapsed.Seconds(), sink+"_%")
	}
}
