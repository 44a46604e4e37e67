package projector

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/internal/pglock"
)

// Revisions (projector.revs) hold each document's latest revision; the row
// is also the document's lock. A deleted document's revision is the floor
// its sinks' tombstones hold, which a document created again later must
// beat. Keeping every one forever would make the table grow with every
// document ever deleted, so a deleted document's revision is collected
// after the retention, and its view's floor (projector.rev_floors) rises to
// it instead: a document without a revision row starts above the floor,
// hence above every revision collected, whatever tombstone a store kept.
//
// The floor row is what makes that safe against a batch creating the
// document again while its revision is being collected: a batch reads the
// floor with a share lock held until it commits, and the collector takes
// the floor row for update before it deletes anything. So a batch either
// sees the revision row (it committed before the collection began) or the
// raised floor (it waited for the collection to commit).
//
// The row lock alone would let the batches starve the collector:
// PostgreSQL grants a share lock on a row at once while only share lockers
// hold it, however long an update has waited, so under a steady load (a
// batch beside the recompute of the documents the one before it left, a
// rebuild's fill, a refresh) the floor row is never free. So a batch takes
// the view's floor lock, an advisory lock, shared, in the statement that
// takes the row, before it; the collector takes it exclusively, before
// the row. An advisory lock queues: a batch that comes while the collector
// waits waits behind it. The collector so waits only for the batches under
// way when it came, for floorWait at most (then it leaves the collection
// to a later round), and the batches after it for its one short
// transaction. The row lock does the rest, as before: a batch that waited
// reads the raised floor, or in a snapshot starts again.

// revisions gives each doc its next revision (next), or reads its current
// one. A revision is also never below the time it is assigned at, in
// microseconds since 1970 (clockRev): the stores keep the revisions they
// were written with, and should projector's schema be restored from a
// backup, or its revisions lost, a revision counted on from the restored
// one would be below what the stores hold, and every later write of the
// document refused as stale, a rebuild's included. One taken from the clock
// is above every revision assigned before the restore.
func (t pgTx) revisions(ctx context.Context, view string, list []string, next bool) (map[string]int64, error) {
	q := `INSERT INTO ` + t.s.ident("revs") + ` AS r (view, doc_id, rev)
		SELECT $1, id, greatest(coalesce((SELECT f.floor FROM ` + t.s.ident("rev_floors") + ` f
			WHERE f.view = $1 AND pg_advisory_xact_lock_shared(hashtextextended($3, 0)) IS NOT NULL FOR SHARE), 0) + 1, ` + clockRev + `)
		FROM unnest($2::text[]) WITH ORDINALITY AS u(id, n) ORDER BY n
		ON CONFLICT (view, doc_id) DO UPDATE SET rev = greatest(r.rev + 1, ` + clockRev + `), deleted_at = NULL
		RETURNING doc_id, rev`
	if !next {
		// A shared lock: a bump waits for it, other reads do not. Locked in
		// the order bumps lock (ids sorted bytewise, as Go sorts them),
		// whatever the column's collation, or the two could deadlock.
		q = `SELECT doc_id, rev FROM ` + t.s.ident("revs") + `
			WHERE view = $1 AND doc_id = ANY($2) ORDER BY doc_id COLLATE "C" FOR SHARE`
	}
	args := []any{view, list}
	if next {
		// The floor lock (void: never null) is taken by the scan, before
		// LockRows above it takes the row: see the top of the file.
		args = append(args, t.s.floorLock(view))
	}
	rows, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("assign revisions: %w", err)
	}
	defer rows.Close()
	revs := make(map[string]int64, len(list))
	for rows.Next() {
		var id string
		var rev int64
		if err := rows.Scan(&id, &rev); err != nil {
			return nil, err
		}
		revs[id] = rev
	}
	return revs, rows.Err()
}

// clockRev is the statement's start in microseconds since 1970, the least
// revision a bump assigns (see revisions).
const clockRev = `(extract(epoch FROM statement_timestamp()) * 1000000)::bigint`

// deletedDocs stamps the revisions of docs computed absent. The rows are
// locked by this transaction already (revisions); the next bump of a doc
// clears the stamp.
func (t pgTx) deletedDocs(ctx context.Context, view string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := t.tx.Exec(ctx, `UPDATE `+t.s.ident("revs")+` SET deleted_at = now()
		WHERE view = $1 AND doc_id = ANY($2)`, view, ids)
	if err != nil {
		return fmt.Errorf("record deleted documents: %w", err)
	}
	return nil
}

// floorWait bounds how long a collection waits for the batches under way
// when it comes, and so how long the batches that come meanwhile wait
// behind it (see the top of the file).
const floorWait = 5 * time.Second

// errFloorBusy reports a collection given up for a round: the batches
// under way held the view's floor for longer than floorWait.
var errFloorBusy = errors.New("the batches under way held the revision floor too long")

// floorLock names view's floor lock (see the top of the file).
func (s *state) floorLock(view string) string {
	return "projector.rev_floors:" + s.schema + ":" + view
}

// collectRevisions deletes up to limit revisions of view's documents
// deleted more than age ago and raises the view's floor to the highest of
// them, in one transaction that holds the floor (see the top of the file).
// Should the batches under way keep it past floorWait, the collection is
// left for a later round (errFloorBusy).
func (s *state) collectRevisions(ctx context.Context, view string, age time.Duration, limit int) (int64, error) {
	return s.collectRevisionsWithin(ctx, view, age, limit, floorWait)
}

// collectRevisionsWithin is collectRevisions waiting for the floor for
// wait at most.
func (s *state) collectRevisionsWithin(ctx context.Context, view string, age time.Duration, limit int, wait time.Duration) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('lock_timeout', $1, true)`, fmt.Sprintf("%dms", wait.Milliseconds())); err != nil {
			return err
		}
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM `+s.ident("rev_floors")+`
			WHERE view = $1 AND pg_advisory_xact_lock(hashtextextended($2, 0)) IS NOT NULL FOR NO KEY UPDATE`,
			view, s.floorLock(view)).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // a view never migrated has nothing to collect
		}
		if err != nil {
			return err
		}
		return tx.QueryRow(ctx, `WITH old AS (
				SELECT doc_id FROM `+s.ident("revs")+`
				WHERE view = $1 AND deleted_at < now() - make_interval(secs => $2)
				ORDER BY deleted_at LIMIT $3 FOR UPDATE SKIP LOCKED),
			gone AS (
				DELETE FROM `+s.ident("revs")+` r USING old
				WHERE r.view = $1 AND r.doc_id = old.doc_id AND r.deleted_at < now() - make_interval(secs => $2)
				RETURNING r.rev)
			UPDATE `+s.ident("rev_floors")+` SET floor = greatest(floor, (SELECT max(rev) FROM gone))
			WHERE view = $1 RETURNING (SELECT count(*) FROM gone)`, view, age.Seconds(), limit).Scan(&n)
	})
	if pglock.Busy(err) {
		return 0, fmt.Errorf("collect revisions of %s: %w (waited %v): %w", view, errFloorBusy, wait, err)
	}
	if err != nil {
		return 0, fmt.Errorf("collect revisions of %s: %w", view, err)
	}
	return n, nil
}

// revsDeletedIndex finds the revisions of deleted documents by age, for
// collectRevisions. Partial, on a column a bump of a live document leaves
// null: those updates stay HOT.
func revsDeletedIndex() stateIndex {
	return stateIndex{table: "revs", name: "revs#deleted", on: `(view, deleted_at) WHERE deleted_at IS NOT NULL`,
		def: `USING btree (view, deleted_at) WHERE (deleted_at IS NOT NULL)`}
}
