package postgres

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestR37cAddColumnUnderSteadyShortReads: README (The stores) says a view
// that only gains fields is migrated online with ALTER TABLE … ADD COLUMN,
// which "waits for a long reader's lock at most 150 ms at a time and tries
// again, so readers never queue behind it". Here no reader holds anything
// for long: a few clients run one short SELECT after another on the reader
// view, as a read API does. The migration should go through at once.
//
// It does not: the migration locks the generation's table first (ALTER
// TABLE) and the reader view second (CREATE OR REPLACE VIEW), where every
// query locks the view first (parse) and its table second (rewrite). A
// reader that arrives between the two holds the view and waits for the
// table the migration holds; the view's redefinition then waits for that
// reader until its 150 ms lock_timeout, the whole transaction rolls back,
// and so on at every try: with steady reads the start fails after
// ReadersLockWait (1 min) with ErrReadersBusy, and each try stalls the
// readers for 150 ms. Locking the reader view before altering its table
// (readers' order) would avoid the cycle.
func TestR37cAddColumnUnderSteadyShortReads(t *testing.T) {
	pool, url := testenv.Postgres(t)
	newSink(t, pool, abView("b"))
	ctx := t.Context()
	// The readers have a pool of their own, so that the migration never
	// waits for a connection.
	readers, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer readers.Close()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				var n int
				if err := readers.QueryRow(ctx, `SELECT count(*) FROM v`).Scan(&n); err != nil && ctx.Err() == nil {
					// A reader may see the view redefined under it; that is
					// not what this test is about.
					continue
				}
				reads.Add(1)
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	untilTrue(t, "readers to run", 10*time.Second, func() bool { return reads.Load() > 100 })

	wider, err := New(pool, []View{abView("b", "c")})
	if err != nil {
		t.Fatal(err)
	}
	mctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := wider.Migrate(mctx); err != nil {
		t.Fatalf("Migrate adding a column under steady short reads: %v after %s (only short reads ran: no reader held the view or its table for long)",
			err, time.Since(start).Round(time.Millisecond))
	}
}
