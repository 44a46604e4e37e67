package registry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// DefaultLockWait bounds how long a registry transaction is tried again
// while a lock it needs is held by others (see WithLockWait).
const DefaultLockWait = time.Minute

// WithLockWait returns the registry with its transactions tried again for
// up to wait in all when one fails for a lock not had within lock_timeout
// (SQLSTATE 55P03): pointing PostgreSQL readers at a generation redefines
// the reader view, which waits only briefly for the transactions using it
// (the postgres sink's ActivateTx), so that readers never queue behind the
// swap. Each failed attempt rolled back its whole transaction, the registry
// row and the migration lock included, so daemons and readers go on
// between attempts. An fn failing with ErrTryAgain is tried again alike.
// Once wait is over the error wraps ErrLockWait.
func (r *Registry) WithLockWait(wait time.Duration) *Registry {
	c := *r
	c.lockWait = wait
	return &c
}

// retryBusy runs attempt, one whole transaction, again while it fails for
// a lock not had in time or with ErrTryAgain, pausing in between (doubling, capped, jittered),
// for at most the registry's lock wait in all.
func (r *Registry) retryBusy(ctx context.Context, attempt func() error) error {
	wait := r.lockWait
	if wait <= 0 {
		wait = DefaultLockWait
	}
	deadline := time.Now().Add(wait)
	for pause := 50 * time.Millisecond; ; pause = min(2*pause, 2*time.Second) {
		err := attempt()
		if !lockBusy(err) && !errors.Is(err, ErrTryAgain) {
			return err
		}
		if time.Now().Add(pause).After(deadline) {
			return fmt.Errorf("%w (tried for %s): %w", ErrLockWait, wait, err)
		}
		t := time.NewTimer(pause/2 + rand.N(pause/2))
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
	}
}

// lockBusy reports an error from a lock not had within lock_timeout.
func lockBusy(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "55P03" // lock_not_available
}
