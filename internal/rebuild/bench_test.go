package rebuild

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/testenv"
)

// BenchmarkRebuildFromState rebuilds a one-to-one view of
// PROJECTOR_BENCH_REBUILD_DOCS documents (default 100,000; the target size
// is 1,000,000) from the state into PostgreSQL and Redis: fill, verify,
// sweep, swap. It reports docs/s for the fill and for the whole rebuild.
func BenchmarkRebuildFromState(b *testing.B) {
	n := int64(100_000)
	if s := os.Getenv("PROJECTOR_BENCH_REBUILD_DOCS"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v <= 0 {
			b.Fatalf("PROJECTOR_BENCH_REBUILD_DOCS=%q: want a positive number", s)
		}
		n = v
	}
	f := newFixture(b)
	env := f.openEnv()
	ctx := context.Background()
	// The state as the engine would have left it: one row per item.
	if _, err := f.pool.Exec(ctx, `INSERT INTO projector.state_items (key, data, pos_hi, pos_lo)
		SELECT g::text, jsonb_build_object('id', g, 'name', 'item-' || g, 'qty', g % 1000), 0, g
		FROM generate_series(1, $1::bigint) g`, n); err != nil {
		b.Fatal(err)
	}
	if _, err := f.pool.Exec(ctx, `ANALYZE projector.state_items`); err != nil {
		b.Fatal(err)
	}
	var fill, total time.Duration
	for b.Loop() {
		res, err := Run(ctx, env, Options{View: "item_view", Keep: 0, Chunk: benchInt("PROJECTOR_BENCH_CHUNK", 1000), Workers: benchInt("PROJECTOR_BENCH_WORKERS", 4)})
		if err != nil {
			b.Fatal(err)
		}
		if res.Filled != n || res.Verified != n {
			b.Fatalf("filled %d, verified %d, want %d", res.Filled, res.Verified, n)
		}
		fill += res.Fill
		total += res.Total
		b.Logf("%d docs: fill %s, verify %s, total %s", n, res.Fill, res.Verify, res.Total)
	}
	b.ReportMetric(float64(n)*float64(b.N)/fill.Seconds(), "fill-docs/s")
	b.ReportMetric(float64(n)*float64(b.N)/total.Seconds(), "docs/s")
}

func benchInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkRebuildFromSource rebuilds the same view --from source: a
// source PostgreSQL table of PROJECTOR_BENCH_REBUILD_DOCS rows (default
// 100,000) is read in one snapshot into the state (every row applied as a
// snapshot read, its document written to the live generation), then the
// new generation is filled, verified and swapped. source-rows/s is the
// re-read's rate; docs/s the whole rebuild's.
func BenchmarkRebuildFromSource(b *testing.B) {
	n := int64(benchInt("PROJECTOR_BENCH_REBUILD_DOCS", 100_000))
	f := newFixture(b)
	// The served generation exists: the rows read are written to it too.
	f.startDaemon()
	env := f.openEnv()
	ctx := context.Background()
	srcPool, srcURL := testenv.Postgres(b)
	for _, q := range []string{
		`CREATE TABLE public.items (id bigint PRIMARY KEY, name text, qty bigint)`,
		fmt.Sprintf(`INSERT INTO public.items SELECT g, 'item-' || g, g %% 1000 FROM generate_series(1, %d) g`, n),
		`ANALYZE public.items`,
	} {
		if _, err := srcPool.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	var reread, total time.Duration
	for b.Loop() {
		res, err := Run(ctx, env, Options{View: "item_view", From: "source", Keep: 0,
			SourceURLs: map[string]string{"items": srcURL}, Chunk: benchInt("PROJECTOR_BENCH_CHUNK", 1000)})
		if err != nil {
			b.Fatal(err)
		}
		if res.SourceRows != n || res.Verified != n {
			b.Fatalf("read %d rows, verified %d, want %d", res.SourceRows, res.Verified, n)
		}
		reread += res.Reread
		total += res.Total
		b.Logf("%d rows: read into the state %s, fill %s, verify %s, total %s", n, res.Reread, res.Fill, res.Verify, res.Total)
	}
	b.ReportMetric(float64(n)*float64(b.N)/reread.Seconds(), "source-rows/s")
	b.ReportMetric(float64(n)*float64(b.N)/total.Seconds(), "docs/s")
}
