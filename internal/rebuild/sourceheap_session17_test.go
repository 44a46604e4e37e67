package rebuild

// Session 17 (memory that grows with data): `rebuild --from source` kept the
// key of every row it read (source.go, `seen`) until the rows the source no
// longer has were deleted: about 50 bytes a row of a bigint key, gigabytes
// for a table of 100 million rows. What a rebuild holds must not grow with
// the table it reads, while the rows gone from the source are still
// deleted and the rows read, a row that could not be projected among them,
// are not.

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// s17CodesYAML is a view of a source keyed by a long text: each key read
// weighs about 2 kB, so that what a rebuild keeps per row shows.
const s17CodesYAML = `
version: 1
kafka: { brokers: "${BROKERS:-localhost:1}", group: codes }
stores:
  postgres: { url: "${PG}" }
sources:
  codes:
    topic: shop.public.codes
    key: code
    columns: { code: text, qty: bigint }
    signal: { notifications: shop.notifications }
views:
  code_view:
    from: codes
    fields: { code: code, qty: qty }
    sinks:
      postgres: { table: code_view }
`

// s17Code is the key of code n: 2,008 bytes, in n's order.
func s17Code(n int64) string { return fmt.Sprintf("%08d", n) + s17Padding }

var s17Padding = strings.Repeat("k", 2000)

// s17LiveCodes counts the live rows of the codes state, and those whose
// qty is at most n.
func s17LiveCodes(t *testing.T, f *fixture, n int64) (live, upTo int64) {
	t.Helper()
	if err := f.pool.QueryRow(context.Background(), `SELECT count(*), count(*) FILTER (WHERE (data->>'qty')::bigint <= $1)
		FROM projector.state_codes WHERE NOT deleted`, n).Scan(&live, &upTo); err != nil {
		t.Fatal(err)
	}
	return live, upTo
}

// TestS17SourceReadHeapIndependentOfTableSize: a rebuild --from source of a
// table of 2,000 rows, then of the same table grown to 22,000 rows less
// the 100 first ones, deleted from the source meanwhile. Both read every
// row a page (--chunk 200) at a time; the second deletes the 100 state
// rows the source lost. The live heap while the second reads must not
// exceed the first's by what the 19,900 more keys weigh (about 40 MB of
// text): 12 MB at most.
func TestS17SourceReadHeapIndependentOfTableSize(t *testing.T) {
	f := newFixtureYAML(t, s17CodesYAML, "", "")
	f.startDaemon()
	ctx := context.Background()
	srcPool, srcURL := testenv.Postgres(t)
	insert := func(from, to int64) {
		t.Helper()
		if _, err := srcPool.Exec(ctx, `INSERT INTO public.codes SELECT lpad(g::text, 8, '0') || $3, g FROM generate_series($1::bigint, $2::bigint) g`,
			from, to, s17Padding); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := srcPool.Exec(ctx, `CREATE TABLE public.codes (code text PRIMARY KEY, qty bigint)`); err != nil {
		t.Fatal(err)
	}
	rebuild := func(rows, deleted int64) float64 {
		t.Helper()
		env := f.openEnv()
		var res Result
		var err error
		held := s17HeldByPhase(func(p Progress) {
			res, err = Run(ctx, env, Options{View: "code_view", From: "source", Keep: 0, Chunk: 200, Progress: p,
				SourceURLs: map[string]string{"codes": srcURL}})
		})
		if err != nil {
			t.Fatalf("rebuild --from source: %v", err)
		}
		if res.SourceRows != rows || res.SourceDeleted != deleted {
			t.Errorf("read %d source rows and deleted %d state rows, want %d and %d", res.SourceRows, res.SourceDeleted, rows, deleted)
		}
		t.Logf("rebuild --from source reading %d rows: live heap %+.1f MB at most while reading (by phase: %s)", rows, held["source"], s17Phases(held))
		return held["source"]
	}
	insert(1, 2_000)
	small := rebuild(2_000, 0)
	insert(2_001, 22_000)
	if _, err := srcPool.Exec(ctx, `DELETE FROM public.codes WHERE qty <= 100`); err != nil {
		t.Fatal(err)
	}
	big := rebuild(21_900, 100)
	if live, gone := s17LiveCodes(t, f, 100); live != 21_900 || gone != 0 {
		t.Errorf("the state holds %d live rows, %d of them deleted from the source; want 21,900 and 0", live, gone)
	}
	if extra := big - small; extra > 12 {
		t.Errorf("rebuild --from source reading 21,900 rows: live heap %+.1f MB, %+.1f MB over reading 2,000 (> 12 MB; the 19,900 more keys weigh about 40 MB): "+
			"the rebuild holds every key it read", big, extra)
	}
}

// s17DaysYAML is a view of a source with a date column, which a source
// row can hold in a value the decoder refuses (a BC date).
const s17DaysYAML = `
version: 1
kafka: { brokers: "localhost:1", group: days }
stores:
  postgres: { url: "${PG}" }
sources:
  days:
    topic: shop.public.days
    key: id
    columns: { id: bigint, day: date }
views:
  day_view:
    from: days
    fields: { id: id, day: day }
    sinks:
      postgres: { table: day_view }
`

// s17Days sets up a days source holding rows 1, 2 (a BC date, which the
// decoder refuses) and 4 (another), and a state holding rows 1 to 4 from
// the stream: row 3 is gone from the source. It returns the source's URL.
func s17Days(t *testing.T, d *daemon) string {
	t.Helper()
	ctx := context.Background()
	srcPool, srcURL := testenv.Postgres(t)
	if _, err := srcPool.Exec(ctx, `CREATE TABLE public.days (id bigint PRIMARY KEY, day date);
		INSERT INTO public.days VALUES (1, '2024-01-02'), (2, '0044-03-15 BC'), (4, '0001-01-01 BC')`); err != nil {
		t.Fatal(err)
	}
	var recs []projector.Record
	for id := int64(1); id <= 4; id++ {
		recs = append(recs, projector.Record{Topic: "shop.public.days", Offset: id, Key: fmt.Appendf(nil, `{"id":%d}`, id),
			Value: fmt.Appendf(nil, `{"op":"c","source":{"connector":"postgresql","lsn":%d},"after":{"id":%d,"day":19724}}`, 100+id, id)})
	}
	if err := d.process(ctx, recs); err != nil {
		t.Fatal(err)
	}
	return srcURL
}

// s17LiveDays lists the keys of the live rows of the days state.
func s17LiveDays(t *testing.T, f *fixture) string {
	t.Helper()
	rows, err := f.pool.Query(context.Background(), `SELECT key FROM projector.state_days WHERE NOT deleted ORDER BY key`)
	if err != nil {
		t.Fatal(err)
	}
	live, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(live)
}

// TestS17SourceKeepsRowsItCouldNotProject: a rebuild --from source of
// s17Days deletes row 3 only: rows 2 and 4 are dead letters, but the
// source has them, and their state rows stay as they were.
func TestS17SourceKeepsRowsItCouldNotProject(t *testing.T) {
	f := newFixtureYAML(t, s17DaysYAML, "", "")
	srcURL := s17Days(t, f.startDaemon())
	res, err := Run(context.Background(), f.openEnv(), Options{View: "day_view", From: "source", Keep: 0,
		SourceURLs: map[string]string{"days": srcURL}})
	if err != nil {
		t.Fatalf("rebuild --from source: %v", err)
	}
	if res.DeadLetters != 2 || res.SourceDeleted != 1 {
		t.Errorf("rebuild --from source: %d dead letters, %d state rows deleted; want 2 (rows 2 and 4) and 1 (row 3)", res.DeadLetters, res.SourceDeleted)
	}
	if live := s17LiveDays(t, f); live != "[1 2 4]" {
		t.Errorf("live state rows %s, want [1 2 4]: a row the source has must not be deleted because it could not be projected", live)
	}
}

// s17Held is a Progress that measures, as the rebuild reports progress
// in a phase, the heap its live objects take (runtime.ReadMemStats right
// after a collection, so no garbage counts), and keeps the most per phase.
// It collects at most every 20 ms: a phase reports every batch.
type s17Held struct {
	mu    sync.Mutex // the fill reports from its workers
	base  uint64
	phase string
	last  time.Time
	most  map[string]uint64
}

// s17HeldByPhase runs fn with an s17Held and returns, per phase, the most
// its live heap grew over the heap before, in MB; "after" is its growth
// once fn returned.
func s17HeldByPhase(fn func(Progress)) map[string]float64 {
	h := &s17Held{base: s17LiveHeap(), most: map[string]uint64{}}
	fn(h)
	h.most["after"] = s17LiveHeap()
	out := map[string]float64{}
	for phase, n := range h.most {
		out[phase] = float64(n-min(n, h.base)) / 1e6
	}
	return out
}

// s17LiveHeap is the heap live objects take: two collections, the second
// freeing what sync.Pools still held through the first.
func s17LiveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func (h *s17Held) Phase(name string, _ int64) { h.mu.Lock(); h.phase = name; h.mu.Unlock() }
func (h *s17Held) Done()                      { h.measure(true) }
func (h *s17Held) Add(int64)                  { h.measure(false) }

func (h *s17Held) measure(always bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !always && time.Since(h.last) < 20*time.Millisecond {
		return
	}
	h.most[h.phase] = max(h.most[h.phase], s17LiveHeap())
	h.last = time.Now()
}

// s17Phases writes the most per phase, in MB.
func s17Phases(held map[string]float64) string {
	var parts []string
	for _, phase := range slices.Sorted(maps.Keys(held)) {
		parts = append(parts, fmt.Sprintf("%s %+.1f MB", phase, held[phase]))
	}
	return strings.Join(parts, ", ")
}
