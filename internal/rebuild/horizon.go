package rebuild

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
// CONCURRENTLY does, waits for the snapshots older than the fill: it takes
// the transaction horizon once the generation is verified, and commits
// only when no other session of the database holds a snapshot older than
// it. Transactions that start later see all of the fill, so the daemons'
// steady short transactions do not hold the swap up.

// snapshotCheck refuses a swap while older snapshots are open.
type snapshotCheck struct {
	r *run
	// horizon is the first transaction id not yet assigned once the
	// generation was verified: a snapshot whose xmin is at or past it sees
	// every row of the fill.
	horizon string
	logged  bool
}

// olderSnapshotsCheck takes the horizon; see snapshotCheck.
func (r *run) olderSnapshotsCheck(ctx context.Context) (*snapshotCheck, error) {
	c := &snapshotCheck{r: r}
	if err := r.env.Pool.QueryRow(ctx, `SELECT pg_snapshot_xmax(pg_current_snapshot())::text`).Scan(&c.horizon); err != nil {
		return nil, fmt.Errorf("view %s: read the transaction horizon before the swap: %w", r.gen.View, err)
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
	older, err := olderSnapshots(ctx, tx, c.horizon)
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

// olderSnapshots describes the other client sessions of the database whose
// oldest snapshot (backend_xmin) precedes horizon. age() counts both back
// from the current transaction id, which is right across wraparound. An
// idle session in a transaction is the usual culprit; one in READ
// COMMITTED counts too while it keeps a portal open (as its driver may
// do), as it does for CREATE INDEX CONCURRENTLY.
func olderSnapshots(ctx context.Context, tx pgx.Tx, horizon string) ([]string, error) {
	return pglock.Sessions(ctx, tx, `SELECT pid, state, xact_start, query_start FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
		AND backend_xmin IS NOT NULL AND age(backend_xmin) > age($1::text::xid8::xid)
		ORDER BY xact_start, pid`, horizon)
}
