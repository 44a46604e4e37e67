package projector

// Hostile review 27e: the state's tombstone collection over a backlog.

import (
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/projectorhq/projector/internal/testenv"
)

// TestR27eTombstoneCollectionQuadratic: the state's tombstones are
// collected a chunk at a time (tombstoneChunk, 10,000), each chunk by a
// statement that looks for old tombstones from the start of the table
// again, past the ones earlier chunks deleted (dead until a vacuum, which
// does not run between the chunks), and whose delete then joins the chunk
// against the table. A backlog of B tombstones costs B/chunk statements
// each reading up to the whole table: the square of the backlog, the
// trouble the PostgreSQL sink's purge avoids by walking its table a range
// of pages at a time (sinks/postgres/sink.go purge). Here a backlog 20
// times the chunk reads the table's pages several times over.
func TestR27eTombstoneCollectionQuadratic(t *testing.T) {
	const rows, chunk = 20_000, 500 // a backlog of 10,000 tombstones, 20 chunks
	url := testenv.PostgresURL(t)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	tr := &r27eTracer{mark: "DELETE FROM"}
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
    columns: { id: bigint, status: text }
views:
  order_view:
    from: orders
    fields: { id: id, status: status }
    sinks:
      postgres: { table: order_view }
`)
	st := &state{pool: pool, schema: "projector"}
	ctx := t.Context()
	if err := st.migrate(ctx, plan); err != nil {
		t.Fatal(err)
	}
	src := plan.Sources[0]
	for _, q := range []string{
		`ALTER TABLE projector.state_orders SET (autovacuum_enabled = false)`,
		`INSERT INTO projector.state_orders (key, data, pos_hi, pos_lo, deleted, updated_at)
			SELECT i::text, jsonb_build_object('id', i, 'status', CASE WHEN i % 2 = 0 THEN NULL ELSE 'paid' END), i, 0, i % 2 = 0,
				CASE WHEN i % 2 = 0 THEN now() - interval '30 days' ELSE now() END
			FROM generate_series(1, ` + fmt.Sprint(rows) + `) i`,
		`ANALYZE projector.state_orders`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	var pages int
	if err := pool.QueryRow(ctx, `SELECT (pg_relation_size('projector.state_orders') + pg_indexes_size('projector.state_orders')) / current_setting('block_size')::int`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	age := 7 * 24 * time.Hour
	// Each chunk's statement is explained (and rolled back) on a pool of
	// its own just before it runs, counting the blocks its scans read.
	explain, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(explain.Close)
	read, calls := 0, 0
	tr.before = func(sql string, args []any) {
		read += r27eRowsRead(t, explain, "state_orders", sql, args)
		calls++
	}
	collected, err := st.collectTombstones(ctx, src, age, chunk)
	if err != nil {
		t.Fatal(err)
	}
	if collected != rows/2 {
		t.Fatalf("collected %d tombstones, want %d", collected, rows/2)
	}
	if calls < rows/2/chunk {
		t.Fatalf("%d statements collected %d tombstones in chunks of %d", calls, collected, chunk)
	}
	if read > 3*rows {
		t.Errorf("collecting %d tombstones in %d chunks of %d read %d rows of the state table, %.1f× its %d rows: "+
			"every chunk reads from the start of the table again", collected, calls, chunk, read, float64(read)/float64(rows), rows)
	}
}
