package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/internal/pglock"
	"github.com/projectorhq/projector/internal/testenv"
)

// twoGenerations migrates view v at generation 1 and creates generation 2,
// returning the sink of generation 1.
func twoGenerations(t *testing.T, pool *pgxpool.Pool) *Sink {
	t.Helper()
	s := newSink(t, pool, abView("b"))
	next := abView("b")
	next.Generation = 2
	s2, err := New(pool, []View{next})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.CreateGeneration(t.Context(), "v", 2); err != nil {
		t.Fatal(err)
	}
	return s
}

// untilTrue polls cond until it holds, failing the test after timeout.
func untilTrue(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		<-tick.C
	}
}

// A report (a transaction that read the reader view and runs on) holds the
// view: redefining it waits for the report briefly only, then fails naming
// it, rather than queue every reader behind its lock request for as long
// as the report runs.
func TestActivateTxBehindALongReaderFailsNamingIt(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := twoGenerations(t, pool)
	ctx := t.Context()
	report, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = report.Rollback(context.Background()) }()
	var pid, n int
	if err := report.QueryRow(ctx, `SELECT pg_backend_pid(), (SELECT count(*) FROM v)`).Scan(&pid, &n); err != nil {
		t.Fatal(err)
	}

	actx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tx, err := pool.Begin(actx)
	if err != nil {
		t.Fatal(err)
	}
	err = s.ActivateTx(actx, tx, "v", 2)
	_ = tx.Rollback(context.Background())
	if !errors.Is(err, ErrReadersBusy) || !pglock.Busy(err) {
		t.Fatalf("ActivateTx behind a report: %v, want ErrReadersBusy (lock_not_available)", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("pid %d (", pid)) {
		t.Errorf("ActivateTx behind a report: %v, want the report's pid %d named", err, pid)
	}
}

// Activate tries again while the report runs, letting readers through in
// between, and moves the readers once it ended.
func TestActivateBehindALongReaderLetsReadersThrough(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := twoGenerations(t, pool)
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

	done := make(chan error, 1)
	go func() { done <- s.Activate(ctx, "v", 2) }()
	untilTrue(t, "Activate to ask for the reader view's lock", 30*time.Second, func() bool {
		var waiting bool
		err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks
			WHERE relation = 'public.v'::regclass AND NOT granted)`).Scan(&waiting)
		return err == nil && waiting
	})
	reader, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Release()
	if _, err := reader.Exec(ctx, `SET statement_timeout = '10s'`); err != nil {
		t.Fatal(err)
	}
	rerr := reader.QueryRow(ctx, `SELECT count(*) FROM v`).Scan(&n)
	_, _ = reader.Exec(ctx, `RESET statement_timeout`)
	if err := report.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Activate once the report ended: %v", err)
	}
	if rerr != nil {
		t.Errorf("a reader while Activate waited for the report: %v (queued behind its lock request)", rerr)
	}
	var def string
	if err := pool.QueryRow(ctx, `SELECT pg_get_viewdef('public.v'::regclass)`).Scan(&def); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(def, "v__g2") {
		t.Errorf("reader view after Activate: %s, want it on generation 2", def)
	}
}
