package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/internal/pglock"
)

// Redefining the reader view (CREATE OR REPLACE VIEW, DROP VIEW) takes its
// ACCESS EXCLUSIVE lock, which waits for every transaction that read the
// view, and every new reader queues behind the waiting request: waiting as
// long as a report runs would keep all readers out meanwhile. So a
// redefinition waits readerLockTimeout at most; its caller rolls back the
// whole transaction, releasing all it holds, and tries again after a pause
// (pglock.RetryBusy), as pg-osc and strong_migrations do. Adding a column
// to the generation's table, which the view's readers read too, waits so
// as well.
const readerLockTimeout = 150 * time.Millisecond

// ReadersLockWait bounds how long Migrate, MigrateTables and Activate try
// again to redefine a reader view that long transactions hold.
const ReadersLockWait = time.Minute

// ErrReadersBusy reports a reader view, or its generation's table, whose
// lock was held by other transactions (named in the error) for longer than
// a redefinition waits.
var ErrReadersBusy = errors.New("other transactions hold the reader view")

// boundedLock runs fn, which redefines the reader view or alters the table
// it reads (reader, quoted), in a savepoint of tx under a short
// lock_timeout. When a lock is not had in time, the savepoint goes back
// and the error names the sessions holding reader; it wraps the
// lock_not_available error, which tells the caller to roll back its
// transaction and try again.
func boundedLock(ctx context.Context, tx pgx.Tx, reader string, fn func(pgx.Tx) error) error {
	var prev string
	if err := tx.QueryRow(ctx, `SELECT current_setting('lock_timeout')`).Scan(&prev); err != nil {
		return fmt.Errorf("read lock_timeout: %w", err)
	}
	sp, err := tx.Begin(ctx)
	if err != nil {
		return err
	}
	timeout := fmt.Sprintf("%dms", readerLockTimeout.Milliseconds())
	if _, err = sp.Exec(ctx, `SELECT set_config('lock_timeout', $1, true)`, timeout); err == nil {
		err = fn(sp)
	}
	if err == nil {
		// The rest of the caller's transaction waits as it did.
		if _, err = sp.Exec(ctx, `SELECT set_config('lock_timeout', $1, true)`, prev); err == nil {
			return sp.Commit(ctx)
		}
	}
	if rerr := sp.Rollback(ctx); rerr != nil {
		return errors.Join(err, rerr)
	}
	if pglock.Busy(err) {
		return fmt.Errorf("%w: %s: %w", ErrReadersBusy, readerHolders(ctx, tx, reader), err)
	}
	return err
}

// readerHolders names the other sessions holding a lock on the reader
// view (or table), with when their transaction and their last query started (an idle
// one in transaction is the usual culprit).
func readerHolders(ctx context.Context, tx pgx.Tx, reader string) string {
	held, err := pglock.Sessions(ctx, tx, `SELECT DISTINCT a.pid, a.state, a.xact_start, a.query_start
		FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'relation' AND l.relation = to_regclass($1) AND l.granted AND l.pid <> pg_backend_pid()
		ORDER BY a.xact_start, a.pid`, reader)
	switch {
	case err != nil:
		return fmt.Sprintf("sessions unknown (%v)", err)
	case len(held) == 0:
		return "held by transactions that have ended since"
	}
	return "held by " + strings.Join(held, ", ")
}

// lockReadersOf takes the reader view's ACCESS EXCLUSIVE lock, when the
// view reads table, for the caller to alter the table next. Every query
// on the view locks the view first (parsing) and its table second
// (rewriting): a migration that locked the table first would then wait,
// redefining the view, for a reader that came in between and waits for
// the table in turn, until its lock_timeout; with readers coming one
// after another, at every try. Writes lock the table only, so taking the
// view first makes no cycle with them either.
//
// PostgreSQL has no statement that locks a view alone: LOCK TABLE locks
// the tables it reads too, and checks the view owner's privileges on
// them, which a reader view given to a read-only role lacks. ALTER VIEW
// … OWNER TO its owner changes nothing, and needs only the ownership that
// CREATE OR REPLACE VIEW needs anyway.
func lockReadersOf(ctx context.Context, tx pgx.Tx, v *view, table pgx.Identifier) error {
	var lock string
	err := tx.QueryRow(ctx, `SELECT format('ALTER VIEW %s OWNER TO %I', $1::text, pg_get_userbyid(c.relowner))
		FROM pg_class c
		WHERE c.oid = to_regclass($1) AND c.relkind = 'v' AND EXISTS (SELECT FROM pg_rewrite r
			JOIN pg_depend d ON d.objid = r.oid AND d.classid = 'pg_rewrite'::regclass
			WHERE r.ev_class = c.oid AND d.refobjid = to_regclass($2))`,
		v.reader().Sanitize(), table.Sanitize()).Scan(&lock)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // no reader reads the table through it
	}
	if err != nil {
		return fmt.Errorf("reader view %s: %w", v.reader().Sanitize(), err)
	}
	if _, err := tx.Exec(ctx, lock); err != nil {
		return fmt.Errorf("lock reader view %s: %w", v.reader().Sanitize(), err)
	}
	return nil
}
