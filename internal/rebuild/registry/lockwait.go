package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/projectorhq/projector/internal/pglock"
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
// a lock not had in time or with ErrTryAgain (see pglock.RetryBusy), for
// at most the registry's lock wait in all.
func (r *Registry) retryBusy(ctx context.Context, attempt func() error) error {
	wait := r.lockWait
	if wait <= 0 {
		wait = DefaultLockWait
	}
	err := pglock.RetryBusy(ctx, wait, func(err error) bool { return errors.Is(err, ErrTryAgain) }, attempt)
	if errors.Is(err, pglock.ErrGaveUp) {
		return fmt.Errorf("%w: %w", ErrLockWait, err)
	}
	return err
}
