package rebuild

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/internal/rebuild/registry"
)

// stateOfGeneration reads a generation's state in the registry.
func (f *fixture) stateOfGeneration(env *Env, number int) registry.State {
	f.t.Helper()
	snap, err := env.Registry.Snapshot(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	g, ok := snap.Get("item_view", number)
	if !ok {
		f.t.Fatalf("item_view generation %d not in the registry", number)
	}
	return g.State
}

// TestSwapLetsReadersThroughBehindALongReport: README, "Rebuild without
// downtime" ("Readers never see a missing document or a half-built
// view"). The swap redefines the reader view, whose ACCESS EXCLUSIVE lock
// waits for a long reader query (a report) holding the view; every new
// SELECT of the view would queue behind the request, for as long as the
// report runs, with the registry row held meanwhile. The swap takes the
// lock with a short lock_timeout and tries again, so readers go on.
func TestSwapLetsReadersThroughBehindALongReport(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	f.seed(d, 1, 10)
	ctx := context.Background()

	// The report: a transaction that read the view and is still running.
	report, err := f.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = report.Rollback(ctx) }()
	var n int
	if err := report.QueryRow(ctx, `SELECT count(*) FROM item_view`).Scan(&n); err != nil {
		t.Fatal(err)
	}

	env := f.openEnv()
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, env, Options{View: "item_view", Keep: time.Hour, VerifyTimeout: 5 * time.Second})
		done <- err
	}()
	// The swap asks for the reader view's lock (a request not granted).
	waitFor(t, "the swap to ask for the reader view's lock", 60*time.Second, func() bool {
		var waiting bool
		err := f.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks
			WHERE relation = 'public.item_view'::regclass AND NOT granted)`).Scan(&waiting)
		return err == nil && waiting
	})

	// Another reader, meanwhile: it must be answered while the report runs.
	reader, err := f.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reader.Exec(ctx, `SET statement_timeout = '15s'`); err != nil {
		t.Fatal(err)
	}
	var m int
	rerr := reader.QueryRow(ctx, `SELECT count(*) FROM item_view`).Scan(&m)
	_, _ = reader.Exec(ctx, `RESET statement_timeout`)
	reader.Release()

	if err := report.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("rebuild: %v", err)
	}
	if rerr != nil {
		t.Fatalf("a SELECT of item_view while the swap waited for a running report: %v (readers queue behind the swap's lock request)", rerr)
	}
	if m != 10 {
		t.Errorf("a reader during the swap saw %d documents, want 10", m)
	}
	if got := f.readerTable(); got != "item_view__g2" {
		t.Errorf("readers on %s after the report ended, want item_view__g2", got)
	}
}

// A report running longer than --wait: the swap gives up naming it,
// readers stay on the served generation, the new one stays verifying, and
// --resume swaps once the report is over.
func TestSwapBehindALongReportGivesUpAfterWaitForResume(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	f.seed(d, 1, 10)
	ctx := context.Background()

	report, err := f.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = report.Rollback(ctx) }()
	var pid, n int
	if err := report.QueryRow(ctx, `SELECT pg_backend_pid(), (SELECT count(*) FROM item_view)`).Scan(&pid, &n); err != nil {
		t.Fatal(err)
	}

	env := f.openEnv()
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	_, err = Run(rctx, env, Options{View: "item_view", Keep: time.Hour, WaitTimeout: time.Second, VerifyTimeout: 5 * time.Second})
	if !errors.Is(err, registry.ErrLockWait) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d (", pid)) {
		t.Fatalf("rebuild behind a report longer than --wait: %v, want ErrLockWait naming pid %d", err, pid)
	}
	if got := f.readerTable(); got != "item_view__g1" {
		t.Errorf("readers on %s after the swap gave up, want item_view__g1", got)
	}
	if s := f.stateOfGeneration(env, 2); s != registry.Verifying {
		t.Errorf("generation 2 is %s after the swap gave up, want verifying (for --resume)", s)
	}

	if err := report.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := Resume(ctx, env, Options{View: "item_view", WaitTimeout: 5 * time.Second, VerifyTimeout: 5 * time.Second}); err != nil {
		t.Fatalf("--resume once the report ended: %v", err)
	}
	if got := f.readerTable(); got != "item_view__g2" {
		t.Errorf("readers on %s after --resume, want item_view__g2", got)
	}
}

// TestSwapWaitsForSnapshotsOlderThanTheFill: a reader in a REPEATABLE READ
// (or SERIALIZABLE) transaction whose snapshot was taken before the
// rebuild (a report reading several tables consistently, pg_dump) that
// reads the view after the swap would read the new generation's table
// through its old snapshot, in which the table's rows do not exist yet:
// the view would be empty to it. The swap waits for such snapshots, as
// CREATE INDEX CONCURRENTLY does, and gives up once --wait is over, naming
// the session; --resume swaps once it is gone.
func TestSwapWaitsForSnapshotsOlderThanTheFill(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	f.seed(d, 1, 10)
	ctx := context.Background()

	conn, err := f.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// The snapshot is taken by the transaction's first query, of another
	// relation than the view.
	var pid int
	if err := tx.QueryRow(ctx, `SELECT pg_backend_pid() FROM pg_class WHERE relname = 'pg_class'`).Scan(&pid); err != nil {
		t.Fatal(err)
	}

	env := f.openEnv()
	_, err = Run(ctx, env, Options{View: "item_view", Keep: time.Hour, WaitTimeout: 2 * time.Second, VerifyTimeout: 5 * time.Second})
	if !errors.Is(err, ErrOlderSnapshots) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d (", pid)) {
		t.Errorf("rebuild under an older snapshot: %v, want ErrOlderSnapshots naming pid %d", err, pid)
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM item_view`).Scan(&n); err != nil {
		t.Fatalf("a reader's SELECT after the swap failed: %v", err)
	}
	if n != 10 {
		t.Errorf("a REPEATABLE READ reader whose snapshot predates the swap sees %d documents in item_view, want 10 (the documents it held at its snapshot)", n)
	}
	if s := f.stateOfGeneration(env, 2); s != registry.Verifying {
		t.Errorf("generation 2 is %s after the swap gave up, want verifying (for --resume)", s)
	}

	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := Resume(ctx, env, Options{View: "item_view", WaitTimeout: 5 * time.Second, VerifyTimeout: 5 * time.Second}); err != nil {
		t.Fatalf("--resume once the old snapshot is gone: %v", err)
	}
	if got := f.readerTable(); got != "item_view__g2" {
		t.Errorf("readers on %s after --resume, want item_view__g2", got)
	}
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM item_view`).Scan(&n); err != nil || n != 10 {
		t.Errorf("after --resume readers see %d documents (%v), want 10", n, err)
	}
}
