package projector

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
		SELECT $1, id, greatest(coalesce((SELECT f.floor FROM ` + t.s.ident("rev_floors") + ` f WHERE f.view = $1 FOR SHARE), 0) + 1, ` + clockRev + `)
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
	rows, err := t.tx.Query(ctx, q, view, list)
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

// collectRevisions deletes up to limit revisions of view's documents
// deleted more than age ago and raises the view's floor to the highest of
// them, in one transaction that holds the floor row (see the top of the
// file). Waiting for the batches under way is bounded: should the floor
// stay taken, the collection is left for a later round.
func (s *state) collectRevisions(ctx context.Context, view string, age time.Duration, limit int) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '5s'`); err != nil {
			return err
		}
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM `+s.ident("rev_floors")+` WHERE view = $1 FOR NO KEY UPDATE`, view).Scan(&one)
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
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "55P03" { // lock_not_available
		return 0, nil
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
