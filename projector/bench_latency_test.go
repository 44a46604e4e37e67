package projector_test

// The latency and memory benchmarks (see bench_test.go for what each reports).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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

	goredis "github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/benchutil"
	"github.com/projectorhq/projector/internal/cli"
	"github.com/projectorhq/projector/internal/kafkautil"
	"github.com/projectorhq/projector/internal/shop"
	"github.com/projectorhq/projector/internal/testenv"
)

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
	benchMemory(b, rows, false)
}

// BenchmarkMemoryTruncate is BenchmarkMemory1M with a TRUNCATE of the
// products after its rows (300,000 of them, or PROJECTOR_BENCH_TRUNCATE):
// the truncate's deletes, and the deleted documents, must not be held at
// once. It runs only when -bench names it (-bench MemoryTruncate) or
// PROJECTOR_BENCH_TRUNCATE is set.
func BenchmarkMemoryTruncate(b *testing.B) {
	rows := 300_000
	if v := os.Getenv("PROJECTOR_BENCH_TRUNCATE"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 1 {
			rows = n
		}
	} else if !benchNamed("MemoryTruncate") {
		b.Skip("a truncate of 300,000 rows takes minutes: run with -bench MemoryTruncate or PROJECTOR_BENCH_TRUNCATE=1")
	}
	benchMemory(b, rows, true)
}

func benchMemory(b *testing.B, rows int, truncate bool) {
	if _, err := benchutil.ProcMem(0); err != nil {
		b.Skipf("no /proc to read memory from: %v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	load := benchutil.LoadAvg()
	pool, pgURL := testenv.Postgres(b)
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
	if truncate {
		kc.produce(b, []*kgo.Record{ps.truncate()})
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
	var left int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM product_view`).Scan(&left); err != nil {
		b.Fatal(err)
	}
	if want := map[bool]int{false: rows, true: 0}[truncate]; left != want {
		b.Fatalf("product_view holds %d rows, want %d", left, want)
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
