package projector

// Hostile review 27e: scalability hazards that small tests never show.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks"
)

// r27eSink takes every write.
type r27eSink struct{}

func (r27eSink) Name() string                             { return "r27e" }
func (r27eSink) Write(context.Context, []sinks.Doc) error { return nil }

// r27eStore is a store that records, per call, how many rows the state
// transactions were handed or gave back.
type r27eStore struct {
	store
	mu         sync.Mutex
	maxApply   int // most changes one apply statement was given
	maxBefore  int // most rows one liveBefore returned
	applyBytes int // largest JSON input of one apply
	byColumn   int // rows rowsByColumn returned, in all
}

func (s *r27eStore) update(ctx context.Context, fn func(stateTx) error) error {
	return s.store.update(ctx, func(tx stateTx) error { return fn(r27eTx{stateTx: tx, s: s}) })
}

type r27eTx struct {
	stateTx
	s *r27eStore
}

func (t r27eTx) apply(ctx context.Context, src *projections.Source, changes []rowChange, shape rowShape) ([]applied, error) {
	b, _ := json.Marshal(changes)
	t.s.mu.Lock()
	t.s.maxApply = max(t.s.maxApply, len(changes))
	t.s.applyBytes = max(t.s.applyBytes, len(b))
	t.s.mu.Unlock()
	return t.stateTx.apply(ctx, src, changes, shape)
}

func (t r27eTx) liveBefore(ctx context.Context, src *projections.Source, pos debezium.Position, after *string, limit int) ([]stateRow, error) {
	rows, err := t.stateTx.liveBefore(ctx, src, pos, after, limit)
	t.s.mu.Lock()
	t.s.maxBefore = max(t.s.maxBefore, len(rows))
	t.s.mu.Unlock()
	return rows, err
}

func r27ePlan(t *testing.T, yaml string) *projections.Plan {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(`
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
`+yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// r27eEnvelope is a schemaless Debezium PostgreSQL record.
func r27eEnvelope(table, op string, after map[string]any, lsn int64) []byte {
	b, err := json.Marshal(map[string]any{
		"before": nil, "after": after, "op": op, "ts_ms": 1,
		"source": map[string]any{"version": "2.7.3.Final", "connector": "postgresql", "name": "t",
			"ts_ms": 1, "snapshot": "false", "db": "d", "schema": "public", "table": table,
			"txId": lsn, "lsn": lsn, "xmin": nil},
		"transaction": nil,
	})
	if err != nil {
		panic(err)
	}
	return b
}

// TestR27eTruncateHeldWhole: a TRUNCATE is one small record, but its
// deletes are one per live row of the table. They used to go to the state
// in one statement, whose single jsonb parameter grows with the table: past
// jsonb's 256 MB (about 2.5 million rows of short keys, far fewer with
// long keys) PostgreSQL refused the batch on every retry and the consumer
// never got past the truncate. The statements are now cut by size
// (maxApplyInput). (They now come a chunk at a time too: TestTruncateInChunks.)
func TestR27eTruncateHeldWhole(t *testing.T) {
	const chunk, rows = 4, 40
	_, url := testenv.Postgres(t)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	tr := &r27eBatchTracer{r27eTracer{mark: "jsonb_to_recordset($1::jsonb)"}}
	cfg.ConnConfig.Tracer = tr
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	plan := r27ePlan(t, `
sources:
  orders:
    topic: t.public.orders
    key: id
    columns: { id: bigint, status: text, note: text }
views:
  order_view:
    from: orders
    fields: { id: id, status: status, note: note }
    sinks:
      postgres: { table: order_view }
`)
	eng, err := New(Options{Plan: plan, Pool: pool, ChunkDocs: chunk, Sinks: []Route{{Sink: r27eSink{}, Views: []string{"order_view"}}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := eng.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= rows; i += chunk {
		var recs []Record
		for j := i; j < i+chunk; j++ {
			recs = append(recs, Record{Topic: "t.public.orders", Offset: int64(j),
				Key:   []byte(fmt.Sprintf(`{"id":%d}`, j)),
				Value: r27eEnvelope("orders", "c", map[string]any{"id": j, "status": "paid", "note": "some text"}, int64(10+j))})
		}
		if dead, err := eng.Process(ctx, recs); err != nil || len(dead) > 0 {
			t.Fatalf("insert: %v, %v", dead, err)
		}
	}
	defer func(n int) { maxApplyInput = n }(maxApplyInput)
	maxApplyInput = 500
	tr.mu.Lock()
	tr.seen = nil
	tr.mu.Unlock()
	trunc := Record{Topic: "t.public.orders", Offset: rows + 1, Value: r27eEnvelope("orders", "t", nil, 1000)}
	if dead, err := eng.Process(ctx, []Record{trunc}); err != nil || len(dead) > 0 {
		t.Fatalf("truncate: %v, %v", dead, err)
	}
	var live int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM projector.state_orders WHERE NOT deleted`).Scan(&live); err != nil || live != 0 {
		t.Fatalf("live rows after the truncate: %d, %v; want 0", live, err)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	statements := 0
	for _, d := range tr.seen {
		if !strings.Contains(d.SQL, "state_orders") || len(d.Args) == 0 {
			continue
		}
		statements++
		if in, _ := d.Args[0].([]byte); len(in) > maxApplyInput {
			t.Errorf("a statement wrote %d bytes of changes to the state, over the bound of %d", len(in), maxApplyInput)
		}
	}
	if statements < 2 {
		t.Errorf("the truncate's %d deletes went to the state in %d statement(s); want them cut by size", rows, statements)
	}
}

// rowsByColumn, eachRow and snapshot are recorded too: the rows a group's
// recompute reads.
func (t r27eTx) rowsByColumn(ctx context.Context, src *projections.Source, by []columnIn, cols []string, limit int) ([]stateRow, error) {
	rows, err := t.stateTx.rowsByColumn(ctx, src, by, cols, limit)
	t.s.mu.Lock()
	t.s.byColumn += len(rows)
	t.s.mu.Unlock()
	return rows, err
}

func (t r27eTx) eachRow(ctx context.Context, src *projections.Source, by []columnIn, cols []string, page int, fn func([]stateRow) error) error {
	return t.stateTx.eachRow(ctx, src, by, cols, page, func(rows []stateRow) error {
		t.s.mu.Lock()
		t.s.byColumn += len(rows)
		t.s.mu.Unlock()
		return fn(rows)
	})
}

func (s *r27eStore) snapshot(ctx context.Context, fn func(stateTx) error) error {
	return s.store.snapshot(ctx, func(tx stateTx) error { return fn(r27eTx{stateTx: tx, s: s}) })
}

const r27eGroupYAML = `
sources:
  sales:
    topic: t.public.sales
    key: id
    columns: { id: bigint, tenant: text, day: text, amount: bigint }
views:
  daily:
    from: sales
    group_by: [tenant, day]
    fields:
      tenant: tenant
      day: day
      n: { agg: count }
      top: { agg: max, of: amount }
    sinks:
      postgres: { table: daily }
`

func r27eSale(id int, tenant, day string, amount int, lsn int64) Record {
	return Record{Topic: "t.public.sales", Offset: lsn, Key: []byte(fmt.Sprintf(`{"id":%d}`, id)),
		Value: r27eEnvelope("sales", "c", map[string]any{"id": id, "tenant": tenant, "day": day, "amount": amount}, lsn)}
}

// TestR27eGroupRecomputeReadsFirstColumn: a group_by view over two columns
// recomputes a group from its rows (its max left it, the trust period
// passed, or a rebuild) by reading every row whose FIRST group column
// matches, and sorting the rest out in Go: groupsFromRows passes only
// v.IDColumns[0] to rowsByColumn. With group_by [tenant, day], one group
// of 10 rows of a tenant with 20 days reads (and decodes) all 200 rows of
// the tenant; a tenant with years of history makes every recompute of one
// day read them all, while the README's Known limits puts the cost at the
// group's own rows ("recomputed from all its rows").
func TestR27eGroupRecomputeReadsFirstColumn(t *testing.T) {
	const days, perDay = 20, 10
	pool, _ := testenv.Postgres(t)
	plan := r27ePlan(t, r27eGroupYAML)
	eng, err := New(Options{Plan: plan, Pool: pool, Sinks: []Route{{Sink: r27eSink{}, Views: []string{"daily"}}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := eng.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var recs []Record
	id := 0
	for d := range days {
		for j := range perDay {
			id++
			recs = append(recs, r27eSale(id, "acme", fmt.Sprintf("2026-01-%02d", d+1), 10+j, int64(id)))
		}
	}
	if dead, err := eng.Process(ctx, recs); err != nil || len(dead) > 0 {
		t.Fatalf("insert: %v, %v", dead, err)
	}
	rec := &r27eStore{store: eng.state}
	eng.state = rec
	// The max of (acme, 2026-01-01) is sale 10 (amount 19): lowering it
	// makes the max leave the group, which is then recomputed from its rows.
	if dead, err := eng.Process(ctx, []Record{r27eSale(perDay, "acme", "2026-01-01", 1, 10_000)}); err != nil || len(dead) > 0 {
		t.Fatalf("update: %v, %v", dead, err)
	}
	if rec.byColumn == 0 {
		t.Fatal("the group was not recomputed from its rows: the test does not exercise what it means to")
	}
	if rec.byColumn > perDay {
		t.Errorf("recomputing one group of %d rows read %d state rows (every row of its tenant): "+
			"the cost follows the rows sharing the first group_by column, not the group's", perDay, rec.byColumn)
	}
}

// r27eTracer keeps the statements (and their arguments) whose text holds
// mark.
type r27eTracer struct {
	mark   string
	mu     sync.Mutex
	seen   []pgx.TraceQueryStartData
	before func(sql string, args []any) // called before each statement marked
}

func (r *r27eTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.Contains(d.SQL, r.mark) {
		r.mu.Lock()
		r.seen = append(r.seen, d)
		before := r.before
		r.mu.Unlock()
		if before != nil {
			before(d.SQL, d.Args)
		}
	}
	return ctx
}

func (r *r27eTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// r27eBatchTracer records the statements of batches too (apply sends its
// statement in one).
type r27eBatchTracer struct{ r27eTracer }

func (r *r27eBatchTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (r *r27eBatchTracer) TraceBatchQuery(ctx context.Context, c *pgx.Conn, d pgx.TraceBatchQueryData) {
	r.TraceQueryStart(ctx, c, pgx.TraceQueryStartData{SQL: d.SQL, Args: d.Args})
}

func (r *r27eBatchTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// r27eRowsRead runs EXPLAIN ANALYZE of a statement, in a transaction it
// rolls back, and sums the rows its scans of table read: those they
// returned and those their filters removed.
func r27eRowsRead(t *testing.T, pool *pgxpool.Pool, table, sql string, args []any) int {
	t.Helper()
	var total int
	errRollback := errors.New("rolled back")
	err := pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(t.Context(), `SET LOCAL max_parallel_workers_per_gather = 0`); err != nil {
			return err
		}
		var out []byte
		if err := tx.QueryRow(t.Context(), `EXPLAIN (ANALYZE, FORMAT JSON) `+sql, args...).Scan(&out); err != nil {
			return err
		}
		var plans []struct{ Plan map[string]any }
		if err := json.Unmarshal(out, &plans); err != nil {
			return err
		}
		var walk func(n map[string]any)
		walk = func(n map[string]any) {
			if n["Relation Name"] == table {
				loops, _ := n["Actual Loops"].(float64)
				rows, _ := n["Actual Rows"].(float64)
				removed, _ := n["Rows Removed by Filter"].(float64)
				total += int((rows + removed) * loops)
			}
			kids, _ := n["Plans"].([]any)
			for _, k := range kids {
				if m, ok := k.(map[string]any); ok {
					walk(m)
				}
			}
		}
		for _, p := range plans {
			walk(p.Plan)
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
	return total
}

// TestR27eGroupListingQuadratic: a rebuild from the state lists a
// group_by view's documents a page at a time (Engine.DocIDs, pages of
// --chunk, 1000 by default), for the fill and for a full verification.
// Over two group_by columns the group key is jsonb_build_array(...)::text,
// which no index holds, so every page reads and sorts the whole state
// table: the listing costs pages × rows, the square of the table for a
// fixed page size (a million rows in 200,000 groups: 200 pages of a
// million rows each). One column goes through its join index and reads
// the table once.
func TestR27eGroupListingQuadratic(t *testing.T) {
	const tenants, days, perGroup, page = 20, 20, 5, 20
	url := testenv.PostgresURL(t)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	tr := &r27eTracer{mark: "DISTINCT ON (g)"}
	cfg.ConnConfig.Tracer = tr
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	plan := r27ePlan(t, r27eGroupYAML)
	eng, err := New(Options{Plan: plan, Pool: pool, Sinks: []Route{{Sink: r27eSink{}, Views: []string{"daily"}}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := eng.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var recs []Record
	id := 0
	for tn := range tenants {
		for d := range days {
			for j := range perGroup {
				id++
				recs = append(recs, r27eSale(id, fmt.Sprintf("t%02d", tn), fmt.Sprintf("2026-01-%02d", d+1), j, int64(id)))
			}
		}
	}
	if dead, err := eng.Process(ctx, recs); err != nil || len(dead) > 0 {
		t.Fatalf("insert: %v, %v", dead, err)
	}
	if _, err := pool.Exec(ctx, `ANALYZE projector.state_sales`); err != nil {
		t.Fatal(err)
	}
	listed, cursor := 0, ""
	for {
		ids, last, err := eng.DocIDs(ctx, "daily", cursor, page)
		if err != nil {
			t.Fatal(err)
		}
		if last == "" {
			break
		}
		listed += len(ids)
		cursor = last
	}
	if want := tenants * days; listed != want {
		t.Fatalf("listed %d groups, want %d", listed, want)
	}
	rows := id
	read := 0
	tr.mu.Lock()
	seen := tr.seen
	tr.seen = nil
	tr.mu.Unlock()
	for _, q := range seen {
		read += r27eRowsRead(t, pool, "state_sales", q.SQL, q.Args)
	}
	if read > 3*rows {
		t.Errorf("listing the %d groups of a %d-row state in pages of %d ran %d statements that read %d state rows (%.0f× the table): "+
			"every page scans the whole table, so a rebuild's listing grows with the square of it",
			listed, rows, page, len(seen), read, float64(read)/float64(rows))
	}
}

// TestR27eCompositeJoinReadsFirstColumn: a join on two columns looks rows
// up by the first pair only (build.go's load and fanout.go's outerRows
// pass On[0] to rowsByColumn) and sorts the rest out in Go. With the
// multi-tenant join on: { tenant: tenant, order_id: id }, building one
// order's document reads every item of its tenant (whole rows, with no
// limit), and finding the order an item belongs to reads every order of
// the tenant. One item changing in a tenant of 20 orders of 10 items
// reads 220 state rows where 11 are needed; with a tenant of millions of
// items every change reads (and holds in memory) all of them.
func TestR27eCompositeJoinReadsFirstColumn(t *testing.T) {
	const orders, perOrder = 20, 10
	pool, _ := testenv.Postgres(t)
	plan := r27ePlan(t, `
sources:
  orders:
    topic: t.public.orders
    key: id
    columns: { id: bigint, tenant: text }
  items:
    topic: t.public.items
    key: id
    columns: { id: bigint, tenant: text, order_id: bigint, qty: bigint }
views:
  order_view:
    from: orders
    fields:
      id: id
      tenant: tenant
      items:
        many: items
        on: { tenant: tenant, order_id: id }
        fields: { id: id, qty: qty }
    sinks:
      postgres: { table: order_view }
`)
	eng, err := New(Options{Plan: plan, Pool: pool, Sinks: []Route{{Sink: r27eSink{}, Views: []string{"order_view"}}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := eng.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	item := func(id, order, qty int, lsn int64) Record {
		return Record{Topic: "t.public.items", Offset: lsn, Key: []byte(fmt.Sprintf(`{"id":%d}`, id)),
			Value: r27eEnvelope("items", "c", map[string]any{"id": id, "tenant": "acme", "order_id": order, "qty": qty}, lsn)}
	}
	var recs []Record
	lsn := int64(0)
	for o := 1; o <= orders; o++ {
		lsn++
		recs = append(recs, Record{Topic: "t.public.orders", Offset: lsn, Key: []byte(fmt.Sprintf(`{"id":%d}`, o)),
			Value: r27eEnvelope("orders", "c", map[string]any{"id": o, "tenant": "acme"}, lsn)})
		for i := range perOrder {
			lsn++
			recs = append(recs, item(o*100+i, o, 1, lsn))
		}
	}
	if dead, err := eng.Process(ctx, recs); err != nil || len(dead) > 0 {
		t.Fatalf("insert: %v, %v", dead, err)
	}
	rec := &r27eStore{store: eng.state}
	eng.state = rec
	if dead, err := eng.Process(ctx, []Record{item(100, 1, 5, 10_000)}); err != nil || len(dead) > 0 {
		t.Fatalf("update: %v, %v", dead, err)
	}
	if want := 2 * (1 + perOrder); rec.byColumn > want {
		t.Errorf("one item changing read %d state rows by join column (the tenant's %d orders and %d items); "+
			"its order and that order's %d items are %d: lookups go by the first join column only",
			rec.byColumn, orders, orders*perOrder, perOrder, 1+perOrder)
	}
}

// r27eScanBlocks runs EXPLAIN (ANALYZE, BUFFERS) of a statement in a
// transaction it rolls back, and gives the blocks its scans of table read:
// the scans run once (a scan from an index or the heap looking for rows),
// not the per-row probes of a nested loop, whose cost follows the rows.
func r27eScanBlocks(t *testing.T, pool *pgxpool.Pool, table, sql string, args []any) int {
	t.Helper()
	tx, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(t.Context())) }()
	var out []byte
	if err := tx.QueryRow(t.Context(), `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) `+sql, args...).Scan(&out); err != nil {
		t.Fatal(err)
	}
	var plans []struct{ Plan map[string]any }
	if err := json.Unmarshal(out, &plans); err != nil {
		t.Fatal(err)
	}
	total := 0
	var walk func(n map[string]any)
	walk = func(n map[string]any) {
		loops, _ := n["Actual Loops"].(float64)
		kind, _ := n["Node Type"].(string)
		if n["Relation Name"] == table && strings.HasSuffix(kind, "Scan") && loops <= 1 {
			hit, _ := n["Shared Hit Blocks"].(float64)
			read, _ := n["Shared Read Blocks"].(float64)
			total += int(hit + read)
		}
		kids, _ := n["Plans"].([]any)
		for _, k := range kids {
			if m, ok := k.(map[string]any); ok {
				walk(m)
			}
		}
	}
	for _, p := range plans {
		walk(p.Plan)
	}
	return total
}
