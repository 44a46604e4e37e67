package postgres

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/internal/testenv"
)

// Adding a column locks the reader view before its table, as every query
// on the view does: while the migration waits for the table (a write holds
// it here), it already holds the view, so that a reader coming meanwhile
// waits for the view holding nothing, rather than hold the view and wait
// for the table, which the migration's redefinition of the view would then
// wait for until its lock_timeout.
func TestAddColumnLocksReaderViewBeforeItsTable(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	newSink(t, pool, abView("b"))
	ctx := t.Context()
	write, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = write.Rollback(context.Background()) }()
	if _, err := write.Exec(ctx, `INSERT INTO v__g1 (id, b, "_rev") VALUES (1, 'x', 1)`); err != nil {
		t.Fatal(err)
	}

	wider, err := New(pool, []View{abView("b", "c")})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- wider.Migrate(ctx) }()
	untilTrue(t, "Migrate to wait for the table holding the reader view", 10*time.Second, func() bool {
		var inOrder bool
		err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_locks w JOIN pg_locks h ON h.pid = w.pid
			WHERE w.relation = 'public.v__g1'::regclass AND NOT w.granted
			AND h.relation = 'public.v'::regclass AND h.granted AND h.mode = 'AccessExclusiveLock')`).Scan(&inOrder)
		return err == nil && inOrder
	})
	if err := write.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Migrate once the write committed: %v", err)
	}
	if got, want := columns(t, pool, "v"), []string{"id", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("reader view columns = %v, want %v", got, want)
	}
}

// Readers running one short query after another never hold the reader
// view for long, and the migration adding a column gets its locks between
// two of them, without failing for a busy view.
func TestAddColumnGoesThroughSteadyShortReads(t *testing.T) {
	pool, url := testenv.Postgres(t)
	newSink(t, pool, abView("b"))
	ctx := t.Context()
	readers := steadyReaders(t, ctx, url, "SELECT count(*) FROM v")

	wider, err := New(pool, []View{abView("b", "c")})
	if err != nil {
		t.Fatal(err)
	}
	mctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := wider.Migrate(mctx); err != nil {
		t.Fatalf("Migrate adding a column under steady short reads: %v", err)
	}
	if failed := readers.stop(); failed != nil {
		t.Errorf("a reader failed while the column was added: %v", failed)
	}
}

// A reader view given to a role that may only read its table still gains
// the column: the view is locked by a statement that needs only the
// ownership its redefinition needs, not the owner's write privileges on the
// table (which LOCK TABLE on a view checks).
func TestAddColumnToReaderViewOwnedByAReadOnlyRole(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	newSink(t, pool, abView("b"))
	role := testenv.Name("o_")
	exec(t, pool, "CREATE ROLE "+role)
	t.Cleanup(func() {
		ctx := context.Background() // t.Context() is done by now
		_, _ = pool.Exec(ctx, "DROP OWNED BY "+role)
		_, _ = pool.Exec(ctx, "DROP ROLE "+role)
	})
	exec(t, pool, "GRANT CREATE ON SCHEMA public TO "+role)
	exec(t, pool, "GRANT SELECT ON v__g1 TO "+role)
	exec(t, pool, "ALTER VIEW v OWNER TO "+role)

	newSink(t, pool, abView("b", "c"))
	if got, want := columns(t, pool, "v"), []string{"id", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("reader view columns = %v, want %v", got, want)
	}
	var owner string
	if err := pool.QueryRow(t.Context(), `SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'public.v'::regclass`).Scan(&owner); err != nil {
		t.Fatal(err)
	}
	if owner != role {
		t.Errorf("reader view owner = %s, want %s kept", owner, role)
	}
}

// A column added to a generation readers do not read (a rebuild's) leaves
// the reader view alone: a report holding it does not delay the change.
func TestAddColumnToUnservedGenerationLeavesReadersAlone(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	twoGenerations(t, pool)
	ctx := t.Context()
	report, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = report.Rollback(context.Background()) }()
	var n int
	if err := report.QueryRow(ctx, `SELECT count(*) FROM v`).Scan(&n); err != nil {
		t.Fatal(err)
	}

	next := abView("b", "c")
	next.Generation = 2
	s2, err := New(pool, []View{next})
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s2.CreateGeneration(cctx, "v", 2); err != nil {
		t.Fatalf("CreateGeneration adding a column to generation 2 while a report reads generation 1: %v", err)
	}
	if got, want := columns(t, pool, "v__g2"), []string{"id", "b", "_rev", "_deleted", "_updated_at", "c"}; !slices.Equal(got, want) {
		t.Errorf("generation 2 columns = %v, want %v", got, want)
	}
}

// shortReaders are clients running one short query after another.
type shortReaders struct {
	halt   chan struct{}
	wg     sync.WaitGroup
	reads  atomic.Int64
	failed atomic.Pointer[error]
}

// steadyReaders starts four clients running query one after another, on
// a pool of their own (so that nothing they do waits for a connection of
// the test's), and returns once they have read a hundred times.
func steadyReaders(t *testing.T, ctx context.Context, url, query string) *shortReaders {
	t.Helper()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	r := &shortReaders{halt: make(chan struct{})}
	for range 4 {
		r.wg.Go(func() {
			for {
				select {
				case <-r.halt:
					return
				default:
				}
				var n int
				if err := pool.QueryRow(ctx, query).Scan(&n); err != nil {
					r.failed.CompareAndSwap(nil, &err)
					continue
				}
				r.reads.Add(1)
			}
		})
	}
	t.Cleanup(func() { r.stop(); pool.Close() })
	untilTrue(t, "readers to run", 10*time.Second, func() bool { return r.reads.Load() > 100 })
	return r
}

// stop stops the readers, and returns the first error one had.
func (r *shortReaders) stop() error {
	select {
	case <-r.halt:
	default:
		close(r.halt)
	}
	r.wg.Wait()
	if err := r.failed.Load(); err != nil {
		return *err
	}
	return nil
}
