package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestR29aAddColumnBehindALongReaderLetsReadersThrough: a view that gains
// a field is "migrated online" (README, The stores: ALTER TABLE … ADD
// COLUMN at `run`'s start). The redefinition of the reader view waits
// for its lock 150 ms at most, then rolls back and tries again, so that
// readers are not queued behind a lock request for as long as a report
// runs (readerlock.go; the same holds for a rebuild's swap). But the
// migration first runs ALTER TABLE on the generation's table with no
// bound at all (migrate.go alterTable, called from ensureGeneration before
// pointReaders' boundedLock): its ACCESS EXCLUSIVE request waits for the
// report, and every reader of the view (which reads that table) and every
// write of the daemon queue behind it until the report ends. Here a
// reader with a 10 s lock_timeout, started while Migrate waits, fails.
func TestR29aAddColumnBehindALongReaderLetsReadersThrough(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	newSink(t, pool, abView("b"))
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

	wider, err := New(pool, []View{abView("b", "c")})
	if err != nil {
		t.Fatal(err)
	}
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- wider.Migrate(mctx) }()
	untilTrue(t, "Migrate to ask for a lock the report holds", 30*time.Second, func() bool {
		var waiting bool
		err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks
			WHERE relation IN ('public.v'::regclass, 'public.v__g1'::regclass) AND NOT granted)`).Scan(&waiting)
		return err == nil && waiting
	})
	reader, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Release()
	if _, err := reader.Exec(ctx, `SET lock_timeout = '5s'`); err != nil {
		t.Fatal(err)
	}
	rerr := reader.QueryRow(ctx, `SELECT count(*) FROM v`).Scan(&n)
	_, _ = reader.Exec(ctx, `RESET lock_timeout`)
	if err := report.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Migrate once the report ended: %v", err)
	}
	if rerr != nil {
		t.Errorf("a reader while Migrate waited for the report: %v (queued behind its ALTER TABLE's lock request)", rerr)
	}
}
