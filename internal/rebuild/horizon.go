package rebuild

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/internal/pglock"
	"github.com/projectorhq/projector/internal/rebuild/registry"
)

// ErrOlderSnapshots reports transactions whose snapshot predates the new
// generation's fill: swapped under them, the reader view would look empty
// to them.
var ErrOlderSnapshots = errors.New("transactions older than the new generation are open")

// Redefining the reader view is not MVCC-safe: a REPEATABLE READ or
// SERIALIZABLE transaction reads the view's new definition (the catalog is
// read afresh) but the new table's rows through its own snapshot, to which
// every row the fill wrote is invisible, so it would find the view empty
// where it saw every document before. So the swap, as CREATE INDEX
// CONCURRENTLY does, waits for the transactions that held a snapshot once
// the generation was verified: it lists them then (by session and
// transaction start), and commits only when none of them is still open.
// Transactions that start later see all of the fill, whatever their xmin
// (which a long writer in another database holds back), so the daemons'
// steady short transactions do not hold the swap up.

// snapshotCheck refuses a swap while older snapshots are open.
type snapshotCheck struct {
	r *run
	// pids and starts are the sessions of the database that held a
	// snapshot once the generation was verified, and when their
	// transactions started.
	pids   []int32
	starts []time.Time
	logged bool
}

// olderSnapshotsCheck lists the transactions holding a snapshot now; see
// snapshotCheck.
func (r *run) olderSnapshotsCheck(ctx context.Context) (*snapshotCheck, error) {
	c := &snapshotCheck{r: r}
	rows, err := r.env.Pool.Query(ctx, `SELECT pid, xact_start FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
		AND backend_xmin IS NOT NULL AND xact_start IS NOT NULL`)
	if err == nil {
		var pid int32
		var start time.Time
		_, err = pgx.ForEachRow(rows, []any{&pid, &start}, func() error {
			c.pids, c.starts = append(c.pids, pid), append(c.starts, start)
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("view %s: list the transactions open before the swap: %w", r.gen.View, err)
	}
	return c, nil
}

// check refuses the swap in tx, which holds the reader view, while other
// sessions hold a snapshot older than the horizon, with an error wrapping
// registry.ErrTryAgain: the registry rolls the swap back, letting readers
// and daemons go, and tries it again until --wait is over. Checked with
// the view's lock held, a transaction the check misses cannot have read
// the view: one that did holds its lock, which the swap waited for. It
// logs the sessions the first time it refuses.
func (c *snapshotCheck) check(ctx context.Context, tx pgx.Tx) error {
	g := &c.r.gen
	if len(c.pids) == 0 {
		return nil
	}
	older, err := pglock.Sessions(ctx, tx, `SELECT pid, state, xact_start, query_start FROM pg_stat_activity
		WHERE backend_xmin IS NOT NULL AND (pid, xact_start) IN (SELECT * FROM unnest($1::int[], $2::timestamptz[]))
		ORDER BY xact_start, pid`, c.pids, c.starts)
	if err != nil {
		return fmt.Errorf("view %s: look for transactions older than generation %d: %w", g.View, g.Number, err)
	}
	if len(older) == 0 {
		return nil
	}
	sessions := strings.Join(older, ", ")
	if !c.logged {
		c.logged = true
		c.r.opts.Log.Info("the swap waits for transactions older than the new generation", "view", g.View,
			"generation", g.Number, "sessions", sessions)
	}
	return fmt.Errorf("%w: %s still hold a snapshot older than generation %d's fill, through which its readers would look empty: %w",
		ErrOlderSnapshots, sessions, g.Number, registry.ErrTryAgain)
}
