package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
	"github.com/projectorhq/projector/sinks/sinktest"
)

func TestSuite(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	sinktest.Run(t, sinktest.Setup{New: func(t *testing.T, sv sinktest.View) (sinktest.Sink, sinktest.Reader) {
		v := View{Name: sv.Name, Table: sv.Name, ID: sv.ID}
		for _, f := range sv.Fields {
			v.Columns = append(v.Columns, Column{Name: f.Name, Type: f.Type})
		}
		s := newSink(t, pool, v)
		return s, reader{pool: pool, sink: s}
	}})
}

// newSink builds and migrates a sink, failing the test on any error.
func newSink(t *testing.T, pool *pgxpool.Pool, views ...View) *Sink {
	t.Helper()
	s, err := New(pool, views)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

// reader reads docs through the reader view, as a reader of the query
// database would.
type reader struct {
	pool *pgxpool.Pool
	sink *Sink
}

func (r reader) Get(ctx context.Context, viewName, _ string, key map[string]any) (map[string]any, bool, error) {
	v := r.sink.views[viewName]
	if v == nil {
		return nil, false, fmt.Errorf("view %q: %w", viewName, ErrUnknownView)
	}
	conds := make([]string, 0, len(v.ID))
	args := make([]any, 0, len(v.ID))
	for i, id := range v.ID {
		conds = append(conds, fmt.Sprintf("x.%s::text = $%d", quote(id), i+1))
		args = append(args, fmt.Sprint(key[id]))
	}
	var text string
	err := r.pool.QueryRow(ctx, "SELECT row_to_json(x)::text FROM "+v.reader().Sanitize()+" x WHERE "+
		strings.Join(conds, " AND "), args...).Scan(&text)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil {
		return nil, false, fmt.Errorf("decode %s: %w", text, err)
	}
	return fields, true, nil
}

// ordersView has a column of each type a view commonly declares.
func ordersView(name string) View {
	return View{
		Name:  name,
		Table: name,
		Columns: []Column{
			{Name: "id", Type: "bigint"},
			{Name: "total", Type: "numeric(10,2)"},
			{Name: "placed_at", Type: "timestamptz"},
			{Name: "day", Type: "date"},
			{Name: "ref", Type: "uuid"},
			{Name: "labels", Type: "text[]"},
			{Name: "customer", Type: "jsonb"},
			{Name: "paid", Type: "boolean"},
			{Name: "score", Type: "double precision"},
		},
		ID:      []string{"id"},
		Indexes: []Index{{Fields: []string{"customer.id"}}, {Fields: []string{"ref"}, Unique: true}},
	}
}

func order(view string, id int, rev int64) sinks.Doc {
	n := json.Number(fmt.Sprint(id))
	return sinks.Doc{View: view, ID: string(n), Key: map[string]any{"id": n}, Rev: rev, Fields: map[string]any{
		"id":        n,
		"total":     "12.50",
		"placed_at": "2024-01-02T03:04:05Z",
		"day":       "2024-01-02",
		"ref":       fmt.Sprintf("00000000-0000-0000-0000-%012d", id),
		"labels":    []any{"a", `b "quoted"`},
		"customer":  map[string]any{"id": json.Number("7"), "name": "Ann"},
		"paid":      true,
		"score":     json.Number("0.25"),
	}}
}

func TestWriteTypesEachColumn(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := newSink(t, pool, ordersView("orders"))
	if err := s.Write(t.Context(), []sinks.Doc{order("orders", 1, 1)}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	var (
		total, labels, customer string
		placed                  time.Time
		day, ref                string
		paid                    bool
		score                   float64
	)
	err := pool.QueryRow(t.Context(), `SELECT total::text, placed_at, day::text, ref::text, labels::text, customer::text, paid, score
		FROM orders WHERE id = 1`).Scan(&total, &placed, &day, &ref, &labels, &customer, &paid, &score)
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	want := []struct{ name, got, want string }{
		{"total", total, "12.50"},
		{"placed_at", placed.UTC().Format(time.RFC3339), "2024-01-02T03:04:05Z"},
		{"day", day, "2024-01-02"},
		{"ref", ref, "00000000-0000-0000-0000-000000000001"},
		{"labels", labels, `{a,"b \"quoted\""}`},
		{"customer", customer, `{"id": 7, "name": "Ann"}`},
		{"paid", fmt.Sprint(paid), "true"},
		{"score", fmt.Sprint(score), "0.25"},
	}
	for _, w := range want {
		if w.got != w.want {
			t.Errorf("%s = %s, want %s", w.name, w.got, w.want)
		}
	}
}

func TestWritePartialFailure(t *testing.T) {
	tests := []struct {
		name   string
		breaks func(d *sinks.Doc)
	}{
		{"value the column type rejects", func(d *sinks.Doc) { d.Fields["total"] = "twelve" }},
		{"number out of the column's range", func(d *sinks.Doc) { d.Fields["total"] = json.Number("1e20") }},
		{"object into a scalar column", func(d *sinks.Doc) { d.Fields["paid"] = map[string]any{"a": "b"} }},
		{"scalar into an array column", func(d *sinks.Doc) { d.Fields["labels"] = "not an array" }},
		{"invalid json.Number", func(d *sinks.Doc) { d.Fields["score"] = json.Number("12abc") }},
		{"value JSON cannot encode", func(d *sinks.Doc) { d.Fields["customer"] = map[string]any{"f": func() {}} }},
		{"missing key", func(d *sinks.Doc) { delete(d.Key, "id"); delete(d.Fields, "id") }},
		{"null key", func(d *sinks.Doc) { d.Key["id"] = nil; d.Fields["id"] = nil }},
		{"unique index violated", func(d *sinks.Doc) { d.Fields["ref"] = "00000000-0000-0000-0000-000000000001" }},
	}
	pool, _ := testenv.Postgres(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("orders_%d", i)
			s := newSink(t, pool, ordersView(name))
			var docs []sinks.Doc
			for id := 1; id <= 300; id++ {
				docs = append(docs, order(name, id, 1))
			}
			bad := []int{17, 250}
			for _, i := range bad {
				tt.breaks(&docs[i])
			}
			err := s.Write(t.Context(), docs)
			var be *sinks.BatchError
			if !errors.As(err, &be) {
				t.Fatalf("Write: %v, want a *sinks.BatchError", err)
			}
			if len(be.Failed) != len(bad) || be.Failed[bad[0]] == nil || be.Failed[bad[1]] == nil {
				t.Fatalf("Failed = %v, want exactly %v", be.Failed, bad)
			}
			var n int
			if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM "+quote(name)).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != len(docs)-len(bad) {
				t.Errorf("%d rows stored, want %d", n, len(docs)-len(bad))
			}
		})
	}
}

func TestWriteWholeBatchFailure(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s, err := New(pool, []View{ordersView("never_migrated")})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Write(t.Context(), []sinks.Doc{order("never_migrated", 1, 1)})
	var be *sinks.BatchError
	if err == nil || errors.As(err, &be) {
		t.Fatalf("Write to a missing table: %v, want an error for the whole batch", err)
	}

	closed, err := pgxpool.New(t.Context(), pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	s, err = New(closed, []View{ordersView("orders")})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(t.Context(), []sinks.Doc{order("orders", 1, 1)}); err == nil || errors.As(err, &be) {
		t.Fatalf("Write on a closed pool: %v, want an error for the whole batch", err)
	}
}

func TestReaderViewHidesTombstones(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := newSink(t, pool, ordersView("orders"))
	del := sinks.Doc{View: "orders", ID: "1", Key: map[string]any{"id": json.Number("1")}, Rev: 2, Deleted: true}
	for _, batch := range [][]sinks.Doc{{order("orders", 1, 1), order("orders", 2, 1)}, {del}} {
		if err := s.Write(t.Context(), batch); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	var visible, stored, tombstones int
	err := pool.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM orders__g1),
		(SELECT count(*) FROM orders__g1 WHERE _deleted AND _rev = 2 AND total IS NULL AND customer IS NULL)`).Scan(&visible, &stored, &tombstones)
	if err != nil {
		t.Fatal(err)
	}
	if visible != 1 || stored != 2 || tombstones != 1 {
		t.Errorf("reader view shows %d rows, table holds %d with %d tombstones; want 1, 2, 1", visible, stored, tombstones)
	}
	cols := columns(t, pool, "orders")
	for _, c := range cols {
		if strings.HasPrefix(c, "_") {
			t.Errorf("reader view exposes %q", c)
		}
	}
}

func TestPurge(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := newSink(t, pool, ordersView("orders"))
	del := func(id int, rev int64) sinks.Doc {
		return sinks.Doc{View: "orders", ID: fmt.Sprint(id), Key: map[string]any{"id": json.Number(fmt.Sprint(id))}, Rev: rev, Deleted: true}
	}
	if err := s.Write(t.Context(), []sinks.Doc{order("orders", 1, 1), del(2, 1), del(3, 1)}); err != nil {
		t.Fatal(err)
	}
	// Age one tombstone instead of waiting for it to age.
	if _, err := pool.Exec(t.Context(), "UPDATE orders__g1 SET _updated_at = now() - interval '2 hours' WHERE id = 2"); err != nil {
		t.Fatal(err)
	}
	n, err := s.PurgeTombstones(t.Context(), time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("Purge = %d, %v; want 1 tombstone purged", n, err)
	}
	var left int
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM orders__g1").Scan(&left); err != nil || left != 2 {
		t.Fatalf("%d rows left (%v), want the live doc and the recent tombstone", left, err)
	}
	if _, err := s.PurgeTombstones(t.Context(), -time.Second); err == nil {
		t.Error("Purge with a negative retention succeeded")
	}
}

func TestStaleCounted(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := newSink(t, pool, ordersView("orders"))
	batches := [][]sinks.Doc{
		{order("orders", 1, 5), order("orders", 2, 5)},
		{order("orders", 1, 4), order("orders", 2, 5), order("orders", 3, 1)}, // two stale
		{order("orders", 3, 1), order("orders", 3, 3), order("orders", 3, 2)}, // two superseded in the batch
	}
	for _, b := range batches {
		if err := s.Write(t.Context(), b); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Stale(); got != 4 {
		t.Errorf("Stale() = %d, want 4", got)
	}
}

// TestDuplicateIDsInBatch: the highest rev of an id wins within one
// batch whatever its position.
func TestDuplicateIDsInBatch(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := newSink(t, pool, View{Name: "dup", Table: "dup", ID: []string{"id"}, Columns: []Column{
		{Name: "id", Type: "bigint"}, {Name: "v", Type: "text"},
	}})
	d := func(rev int64, v string, del bool) sinks.Doc {
		doc := sinks.Doc{View: "dup", ID: "1", Key: map[string]any{"id": json.Number("1")}, Rev: rev, Deleted: del}
		if !del {
			doc.Fields = map[string]any{"id": json.Number("1"), "v": v}
		}
		return doc
	}
	if err := s.Write(t.Context(), []sinks.Doc{d(3, "c", false), d(5, "", true), d(4, "d", false), d(5, "x", false)}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM dup`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("reader rows %d (%v), want 0 (rev 5 delete came first among equals)", n, err)
	}
	if err := s.Write(t.Context(), []sinks.Doc{d(5, "y", false)}); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM dup`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("equal rev overwrote a tombstone: %d rows", n)
	}
	if err := s.Write(t.Context(), []sinks.Doc{d(9223372036854775807, "max", false)}); err != nil {
		t.Fatal(err)
	}
	var v string
	if err := pool.QueryRow(t.Context(), `SELECT v FROM dup`).Scan(&v); err != nil || v != "max" {
		t.Fatalf("v %q %v", v, err)
	}
}

// TestPurgeInChunks: a backlog of tombstones larger than a purge's chunk,
// over more pages than a chunk reads, is purged whole, a chunk per
// statement, and counted once; live docs and recent tombstones stay. Each
// chunk starts after the last row the one before it deleted: none reads
// its range of pages from the start again.
func TestPurgeInChunks(t *testing.T) {
	for _, pages := range []int64{2, 1 << 20} {
		t.Run(fmt.Sprint(pages, " pages"), func(t *testing.T) {
			_, url := testenv.Postgres(t)
			cfg, err := pgxpool.ParseConfig(url)
			if err != nil {
				t.Fatal(err)
			}
			starts := &purgeStarts{}
			cfg.ConnConfig.Tracer = starts
			pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(pool.Close)
			s := newSink(t, pool, ordersView("orders"))
			defer func(n, p int64) { purgeChunk, purgePages = n, p }(purgeChunk, purgePages)
			purgeChunk, purgePages = 7, pages
			var docs []sinks.Doc
			for id := 1; id <= 1500; id++ {
				if id%3 == 0 {
					docs = append(docs, order("orders", id, 1))
					continue
				}
				docs = append(docs, sinks.Doc{View: "orders", ID: fmt.Sprint(id), Key: map[string]any{"id": json.Number(fmt.Sprint(id))}, Rev: 1, Deleted: true})
			}
			if err := s.Write(t.Context(), docs); err != nil {
				t.Fatal(err)
			}
			// Age every row but the tombstones whose id ends in 1: those stay.
			if _, err := pool.Exec(t.Context(), "UPDATE orders__g1 SET _updated_at = now() - interval '2 hours' WHERE id % 10 <> 1"); err != nil {
				t.Fatal(err)
			}
			if _, err := pool.Exec(t.Context(), "VACUUM orders__g1"); err != nil { // the update's old versions
				t.Fatal(err)
			}
			var tablePages int64
			if err := pool.QueryRow(t.Context(), "SELECT pg_relation_size('orders__g1') / 8192").Scan(&tablePages); err != nil || tablePages <= 3*2 {
				t.Fatalf("the table has %d pages (%v); the test needs more than three ranges' worth", tablePages, err)
			}
			var old, recent, live int64
			if err := pool.QueryRow(t.Context(), `SELECT count(*) FILTER (WHERE _deleted AND id % 10 <> 1),
				count(*) FILTER (WHERE _deleted AND id % 10 = 1), count(*) FILTER (WHERE NOT _deleted) FROM orders__g1`).Scan(&old, &recent, &live); err != nil {
				t.Fatal(err)
			}
			starts.from = nil
			n, err := s.PurgeTombstones(t.Context(), time.Hour)
			if err != nil || n != old {
				t.Fatalf("Purge = %d, %v; want the %d old tombstones purged", n, err, old)
			}
			var tombstones, rows int64
			if err := pool.QueryRow(t.Context(), "SELECT count(*) FILTER (WHERE _deleted), count(*) FROM orders__g1").Scan(&tombstones, &rows); err != nil {
				t.Fatal(err)
			}
			if tombstones != recent || rows != recent+live {
				t.Fatalf("%d rows, %d tombstones left; want the %d live docs and the %d recent tombstones", rows, tombstones, live, recent)
			}
			if len(starts.from) < int(old/7) {
				t.Fatalf("%d purge statements for %d tombstones in chunks of 7", len(starts.from), old)
			}
			for i := 1; i < len(starts.from); i++ {
				a, b := starts.from[i-1], starts.from[i]
				if b.BlockNumber < a.BlockNumber || b.BlockNumber == a.BlockNumber && b.OffsetNumber <= a.OffsetNumber {
					t.Fatalf("chunk %d starts at %v, not after chunk %d's start %v: it reads rows again", i, b, i-1, a)
				}
			}
		})
	}
}

// purgeStarts records the first position of each purge statement.
type purgeStarts struct {
	mu   sync.Mutex
	from []pgtype.TID
}

func (p *purgeStarts) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.HasPrefix(d.SQL, "WITH gone AS (DELETE") && len(d.Args) == 4 {
		if tid, ok := d.Args[2].(pgtype.TID); ok {
			p.mu.Lock()
			p.from = append(p.from, tid)
			p.mu.Unlock()
		}
	}
	return ctx
}

func (p *purgeStarts) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestPurgeReadsPageRanges: a purge chunk reads its range of pages, not
// the table from its start (which made a backlog cost its square).
func TestPurgeReadsPageRanges(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	newSink(t, pool, ordersView("orders"))
	// The plan a prepared statement settles on after a few runs.
	if _, err := pool.Exec(t.Context(), "ALTER DATABASE "+pgx.Identifier{pool.Config().ConnConfig.Database}.Sanitize()+" SET plan_cache_mode = force_generic_plan"); err != nil {
		t.Fatal(err)
	}
	pool.Reset()
	rows, err := pool.Query(t.Context(), "EXPLAIN "+purgeSQL(pgx.Identifier{"public", "orders__g1"}), 3600.0, int64(10), pgtype.TID{BlockNumber: 5, Valid: true}, pgtype.TID{BlockNumber: 10, Valid: true})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(plan, "\n"), "Tid Range Scan on orders__g1") {
		t.Errorf("the purge statement reads no page range:\n%s", strings.Join(plan, "\n"))
	}
}
