package rebuild

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/projections"
)

// positionsAhead checks the state of src against lsn, its database's WAL
// position now. Every change of a database is older than its WAL position;
// a state holding a later one (or a truncate past it) saw a timeline the
// database no longer has: restored to a point in time, failed over with
// WAL lost, replaced by another cluster. Its changes are then stale until
// its WAL passes the state's positions, the snapshot this run reads among
// them. With ResetPositions the positions past lsn are forgotten (zero, as
// unknown) so that the snapshot and the changes after it apply, the rows
// the database no longer has are deleted as any unseen row, and the
// watermarks past it go back; without it the run refuses.
func (r *run) positionsAhead(ctx context.Context, src *projections.Source, lsn int64) error {
	schema := r.env.Registry.Schema()
	state := pgx.Identifier{schema, "state_" + src.Name}.Sanitize()
	truncates := pgx.Identifier{schema, "truncates"}.Sanitize()
	watermarks := pgx.Identifier{schema, "watermarks"}.Sanitize()
	var top int64
	if err := r.env.Pool.QueryRow(ctx, `SELECT greatest(
		(SELECT coalesce(max(pos_hi), 0) FROM `+state+`),
		(SELECT coalesce(max(pos_hi), 0) FROM `+truncates+` WHERE source = $1))`, src.Name).Scan(&top); err != nil {
		return fmt.Errorf("read the positions of %s: %w", src.Name, err)
	}
	if top <= lsn {
		return nil
	}
	if !r.opts.ResetPositions {
		return fmt.Errorf("%w: the state of source %s holds changes at LSN %s, past the database's WAL position %s: it was restored, failed over with WAL lost, or replaced, and its changes are dropped as stale; rebuild --from source --reset-positions takes it as it is now",
			ErrPositionsAhead, src.Name, pgLSN(top), pgLSN(lsn))
	}
	var rows int64
	err := pgx.BeginFunc(ctx, r.env.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE `+state+` SET pos_hi = 0, pos_lo = 0 WHERE pos_hi > $1`, lsn)
		if err != nil {
			return err
		}
		rows = tag.RowsAffected()
		if _, err := tx.Exec(ctx, `DELETE FROM `+truncates+` WHERE source = $1 AND pos_hi > $2`, src.Name, lsn); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE `+watermarks+` SET pos_hi = 0, pos_lo = 0, updated_at = now() WHERE source = $1 AND pos_hi > $2`, src.Name, lsn)
		return err
	})
	if err != nil {
		return fmt.Errorf("reset the positions of %s: %w", src.Name, err)
	}
	r.opts.Log.Warn("positions past the source database's WAL position forgotten: its rows as read now replace them",
		"source", src.Name, "rows", rows, "state_lsn", pgLSN(top), "source_lsn", pgLSN(lsn))
	return nil
}

// pgLSN writes a WAL position as PostgreSQL does.
func pgLSN(n int64) string { return fmt.Sprintf("%X/%X", uint64(n)>>32, uint32(n)) }
