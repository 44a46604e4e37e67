// Package pglock takes PostgreSQL locks without queueing behind them:
// session advisory locks polled for (Poll), and transactions tried again
// while a lock is not had within lock_timeout (RetryBusy), naming the
// sessions in the way (Sessions).
package pglock

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Poll takes a session advisory lock on conn by running try, a query
// giving whether it was taken (pg_try_advisory_lock), again with backoff
// until ctx ends. A statement waiting in pg_advisory_lock instead would
// hold a snapshot for as long as it waits, and a CREATE INDEX CONCURRENTLY
// of the lock's holder waits for every older snapshot: a deadlock
// PostgreSQL does not see.
func Poll(ctx context.Context, conn *pgxpool.Conn, try string, args ...any) error {
	wait := 50 * time.Millisecond
	for {
		var ok bool
		if err := conn.QueryRow(ctx, try, args...).Scan(&ok); err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}
