package rebuild

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/internal/testenv"
)

// TestR28hSnapshotAfterTheFillDoesNotHoldTheSwap: README ("Rebuild without
// downtime"): the swap "waits until no session of the database holds a
// snapshot older than the new generation's fill". A REPEATABLE READ
// transaction that began after the horizon was taken sees every row of
// the fill, yet olderSnapshots counts it whenever some transaction that
// got its id before the horizon is still running anywhere on the server
// (here a writer in another database): its snapshot's xmin (backend_xmin)
// is that old id. The daemons' own batches are REPEATABLE READ
// transactions (projector/state.go), so one long writer anywhere keeps the
// swap refused for all of --wait while the daemons work.
func TestR28hSnapshotAfterTheFillDoesNotHoldTheSwap(t *testing.T) {
	ctx := context.Background()
	pool, _ := testenv.Postgres(t)
	other, _ := testenv.Postgres(t) // another database of the same server

	// A writer, started before the generation was verified, still open.
	w, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Rollback(ctx) }()
	if _, err := w.Exec(ctx, `SELECT txid_current()`); err != nil {
		t.Fatal(err)
	}

	// The fill, and whatever else, commits after it.
	if _, err := pool.Exec(ctx, `CREATE TABLE r28h_fill AS SELECT txid_current() AS x`); err != nil {
		t.Fatal(err)
	}

	r := &run{env: &Env{Pool: pool}, opts: Options{Log: slog.New(slog.DiscardHandler)},
		gen: registry.Generation{View: "v", Number: 2}}
	c, err := r.olderSnapshotsCheck(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// A reader whose snapshot is taken after the horizon: every row the
	// fill wrote is visible to it.
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	rr, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rr.Rollback(ctx) }()
	var pid int
	if err := rr.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}

	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return c.check(ctx, tx) })
	if err != nil && strings.Contains(err.Error(), fmt.Sprintf("pid %d (", pid)) {
		t.Errorf("a REPEATABLE READ transaction begun after the horizon holds the swap: %v", err)
	}
}
