package query_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/benchutil"
	"github.com/projectorhq/projector/internal/query"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
)

const benchYAML = `
version: 1
kafka: { brokers: "127.0.0.1:1" }
stores:
  postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }
sources:
  orders:
    topic: bench.public.orders
    key: id
    columns: { id: bigint, user_id: text, status: text, total: "numeric(10,2)", created_at: timestamptz }
  users:
    topic: bench.public.users
    key: id
    columns: { id: text, name: text }
views:
  big:
    from: orders
    fields:
      id: id
      status: status
      total: total
      created_at: created_at
      customer: { one: users, on: { id: user_id }, fields: { id: id, name: name } }
    sinks:
      postgres: { table: big, indexes: [ { fields: [status, created_at] }, { fields: [created_at] } ] }
      redis: { key: "${PREFIX}big:{id}" }
  big_pg:
    from: orders
    fields: { id: id, status: status, total: total, created_at: created_at }
    sinks:
      postgres: { table: big_pg }
`

// benchStack is the query API over a view of rows PostgreSQL made itself
// (one INSERT … SELECT generate_series into the sink's physical table),
// with the first redisKeys docs also in Redis.
type benchStack struct {
	http   *httptest.Server
	pool   *pgxpool.Pool
	rdb    *goredis.Client
	prefix string
	rows   int
	keys   int
}

func newBenchStack(b *testing.B, rows, redisKeys int) *benchStack {
	b.Helper()
	ctx := context.Background()
	pool, pgURL := testenv.Postgres(b)
	// A Redis of the benchmark's own: the shared one serves every other
	// test running on the machine, whose load is not the API's latency.
	priv := testenv.PrivateRedis(b)
	ropts, err := goredis.ParseURL(priv.URL())
	if err != nil {
		b.Fatal(err)
	}
	rdb := goredis.NewClient(ropts)
	b.Cleanup(func() { _ = rdb.Close() })
	prefix := "bench:"
	env := map[string]string{"PG": pgURL, "REDIS": priv.URL(), "PREFIX": prefix}
	cfg, err := config.Parse("bench.yaml", []byte(benchYAML), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		b.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		b.Fatal(err)
	}
	st, err := stack.Wire(ctx, cfg, plan, nil) // creates the tables, indexes and reader views
	if err != nil {
		b.Fatal(err)
	}
	st.Close()
	start := time.Now()
	for _, table := range []string{"big__g1", "big_pg__g1"} {
		customer := ", jsonb_build_object('id', 'u' || (g % 5000), 'name', 'User ' || (g % 5000))"
		cols := "id, status, total, created_at, customer, _rev, _deleted"
		n := rows
		if table == "big_pg__g1" {
			customer, cols, n = "", "id, status, total, created_at, _rev, _deleted", min(rows, 100_000)
		}
		_, err := pool.Exec(ctx, `INSERT INTO `+table+` (`+cols+`)
			SELECT g, (ARRAY['new','paid','shipped','cancelled'])[1 + g % 4], ((g::bigint * 7919) % 100000) / 100.0,
				timestamptz '2024-01-01' + g * interval '17 seconds'`+customer+`, 1, false
			FROM generate_series(1, $1::int) g`, n)
		if err != nil {
			b.Fatal(err)
		}
		// Steady state: hint bits set and statistics fresh, as a table
		// long in use has them, not the first reads after a bulk load.
		if _, err := pool.Exec(ctx, "VACUUM (ANALYZE) "+table); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%d rows in %s", rows, time.Since(start).Round(time.Millisecond))
	pipe := rdb.Pipeline()
	for id := 1; id <= redisKeys; id++ {
		doc, _ := json.Marshal(map[string]any{"id": id, "status": "paid", "total": "12.50", "created_at": "2024-01-01T00:00:00Z",
			"customer": map[string]any{"id": fmt.Sprint("u", id%5000), "name": fmt.Sprint("User ", id%5000)}})
		pipe.Set(ctx, fmt.Sprintf("%sbig:%d", prefix, id), doc, 0)
		if id%5000 == 0 || id == redisKeys {
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	api, err := query.New(ctx, cfg, plan, query.Options{KafkaTimeout: 100 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(api.Close)
	h := httptest.NewServer(api.Handler())
	b.Cleanup(h.Close)
	return &benchStack{http: h, pool: pool, rdb: rdb, prefix: prefix, rows: rows, keys: redisKeys}
}

// openLoop sends b.N requests at rate per second, each at its scheduled
// time (to the millisecond) whatever the previous ones did, and measures
// every latency from then: queueing behind slow requests counts, as it
// would for real clients (no coordinated omission). It reports the
// percentiles.
func openLoop(b *testing.B, base string, rate int, path func(i int, r *rand.Rand) string) {
	const workers = 64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}}
	defer client.CloseIdleConnections()
	openLoopDo(b, rate, workers, path, func(p string) error {
		res, err := client.Get(base + p)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", p, res.Status)
		}
		return nil
	})
}

// openLoopDo is openLoop for any request: do(what(i)).
func openLoopDo(b *testing.B, rate, workers int, what func(i int, r *rand.Rand) string, do func(string) error) {
	type job struct {
		path string
		at   time.Time
	}
	jobs := make(chan job, b.N)
	lat := make([]time.Duration, b.N)
	var n, failed atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if do(j.path) != nil {
					failed.Add(1)
				}
				lat[n.Add(1)-1] = time.Since(j.at)
			}
		}()
	}
	r := rand.New(rand.NewPCG(7, uint64(b.N)))
	interval := time.Second / time.Duration(rate)
	b.ResetTimer()
	start := time.Now()
	tick := time.NewTicker(time.Millisecond) // pacing, not synchronisation
	for i := 0; i < b.N; {
		now := <-tick.C
		for ; i < b.N; i++ {
			at := start.Add(time.Duration(i) * interval)
			if at.After(now) {
				break
			}
			// Timed from now, not from at: the ticker's own lateness (up to
			// a tick) is the load generator's, not the server's.
			jobs <- job{what(i, r), time.Now()}
		}
	}
	tick.Stop()
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d requests failed", f, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(benchutil.Millis(benchutil.Percentile(lat, 50)), "p50-ms")
	b.ReportMetric(benchutil.Millis(benchutil.Percentile(lat, 99)), "p99-ms")
	b.ReportMetric(benchutil.Millis(benchutil.Percentile(lat, 100)), "max-ms")
}

// want1M reports whether the 1,000,000-row case was asked for: by
// PROJECTOR_BENCH_1M=1, or by a -bench pattern naming it.
func want1M() bool {
	if os.Getenv("PROJECTOR_BENCH_1M") != "" {
		return true
	}
	f := flag.Lookup("test.bench")
	return f != nil && strings.Contains(f.Value.String(), "1M")
}

// BenchmarkGetByID: one document by id at 5,000 requests per second, from
// Redis (the view has a Redis sink) and from PostgreSQL (it has not).
func BenchmarkGetByID(b *testing.B) {
	s := newBenchStack(b, 100_000, 100_000)
	b.Run("redis/rate=5000", func(b *testing.B) {
		openLoop(b, s.http.URL, 5000, func(_ int, r *rand.Rand) string {
			return fmt.Sprintf("/v1/views/big/docs/%d", 1+r.IntN(s.keys))
		})
	})
	// The floor this machine sets: the same GETs straight to Redis, no API.
	b.Run("redis-direct/rate=5000", func(b *testing.B) {
		ctx := context.Background()
		openLoopDo(b, 5000, 64, func(_ int, r *rand.Rand) string {
			return fmt.Sprintf("%sbig:%d", s.prefix, 1+r.IntN(s.keys))
		}, func(key string) error { return s.rdb.Get(ctx, key).Err() })
	})
	b.Run("postgres/rate=5000", func(b *testing.B) {
		openLoop(b, s.http.URL, 5000, func(_ int, r *rand.Rand) string {
			return fmt.Sprintf("/v1/views/big_pg/docs/%d", 1+r.IntN(100_000))
		})
	})
}

// BenchmarkList: an indexed list query — a filter and a sort on the index
// (status, created_at), 50 docs a page — at random places of a large view,
// as keyset pages deep in the list are.
func BenchmarkList(b *testing.B) {
	for _, rows := range []int{100_000, 1_000_000} {
		name := fmt.Sprintf("rows=%dk", rows/1000)
		if rows == 1_000_000 {
			name = "rows=1M"
		}
		b.Run(name, func(b *testing.B) {
			if rows == 1_000_000 && !want1M() {
				b.Skip("set PROJECTOR_BENCH_1M=1 or -bench 'List/rows=1M' for the 1,000,000-row view")
			}
			s := newBenchStack(b, rows, 0)
			span := time.Duration(rows) * 17 * time.Second
			base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			status := []string{"new", "paid", "shipped", "cancelled"}
			b.Run("page/rate=500", func(b *testing.B) {
				openLoop(b, s.http.URL, 500, func(_ int, r *rand.Rand) string {
					before := base.Add(time.Duration(r.Int64N(int64(span))))
					return "/v1/views/big/docs?status=" + status[r.IntN(4)] + "&sort=-created_at&limit=50&created_at[lt]=" +
						url.QueryEscape(before.Format(time.RFC3339))
				})
			})
			b.Run("first-page/rate=500", func(b *testing.B) {
				openLoop(b, s.http.URL, 500, func(_ int, r *rand.Rand) string {
					return "/v1/views/big/docs?status=" + status[r.IntN(4)] + "&sort=-created_at&limit=50"
				})
			})
		})
	}
}

// BenchmarkHandler is the API's own cost per request, without a network
// client: one request at a time through the handler, the store round trip
// included.
func BenchmarkHandler(b *testing.B) {
	s := newBenchStack(b, 100_000, 10_000)
	h := s.http.Config.Handler
	for _, c := range []struct{ name, path string }{
		{"get/redis", "/v1/views/big/docs/%d"},
		{"get/postgres", "/v1/views/big_pg/docs/%d"},
		{"list", "/v1/views/big/docs?status=paid&sort=-created_at&limit=50&id[gt]=%d"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://localhost"+fmt.Sprintf(c.path, 1+i%10_000), nil))
				if w.Code != http.StatusOK {
					b.Fatal(w.Code, w.Body.String())
				}
			}
		})
	}
}
