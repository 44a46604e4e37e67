package pglock

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrGaveUp reports a transaction RetryBusy stopped trying: others stayed
// in its way for the whole wait.
var ErrGaveUp = errors.New("gave up waiting for other transactions")

// Busy reports an error from a lock not had within lock_timeout.
func Busy(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "55P03" // lock_not_available
}

// RetryBusy runs attempt, one whole transaction, again while it fails for
// a lock not had in time (Busy) or for what again says, pausing in between
// (doubling, capped, jittered so that instances starting together do not
// retry in step), for at most wait in all. Each failed attempt rolled its
// transaction back, so the transactions in its way, and those queued
// behind it, go on meanwhile, as pg-osc and strong_migrations do. Once
// wait is over the last error comes back wrapped in ErrGaveUp.
func RetryBusy(ctx context.Context, wait time.Duration, again func(error) bool, attempt func() error) error {
	deadline := time.Now().Add(wait)
	for pause := 50 * time.Millisecond; ; pause = min(2*pause, 2*time.Second) {
		err := attempt()
		if !Busy(err) && (again == nil || !again(err)) {
			return err
		}
		if time.Now().Add(pause).After(deadline) {
			return fmt.Errorf("%w (tried for %s): %w", ErrGaveUp, wait, err)
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

// Sessions runs sql, which selects pid, state, xact_start and query_start
// of pg_stat_activity rows, and names each session for an operator: its
// pid (for pg_terminate_backend), its state and since when it runs.
func Sessions(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, sql string, args ...any) ([]string, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var pid int
		var state *string
		var xact, query *time.Time
		if err := r.Scan(&pid, &state, &xact, &query); err != nil {
			return "", err
		}
		at := func(t *time.Time) string {
			if t == nil {
				return "?"
			}
			return t.UTC().Format(time.RFC3339)
		}
		s := "?"
		if state != nil {
			s = *state
		}
		return fmt.Sprintf("pid %d (%s, transaction started %s, query started %s)", pid, s, at(xact), at(query)), nil
	})
}
