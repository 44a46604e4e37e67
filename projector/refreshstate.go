package projector

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// refreshStore is what refreshes (refresh.go) keep in the state, shared by
// the instances. An instance holds the refresh it runs for a short time,
// renewed while it runs (holdRefresh): one that stops (a crash, a deploy)
// lets another take it up from its last chunk a hold later, not an
// interval later. holder names the claim: an instance that lost its hold
// (it could not renew it in time) learns so (errRefreshLost) rather than
// writing its progress over another's.
type refreshStore interface {
	// claimRefresh claims the view's refresh for holder when it is due
	// and nobody holds it, and returns where an unfinished one of the
	// same listing stopped ("" for the start).
	claimRefresh(ctx context.Context, view, listing, holder string, every, hold time.Duration) (due bool, cursor string, err error)
	// refreshed records how far the held refresh got (after cursor),
	// holding it for hold more; or, with cursor "", that it is done: the
	// next one is due every after it started.
	refreshed(ctx context.Context, view, holder, cursor string, every, hold time.Duration) error
	// holdRefresh holds the refresh for hold more.
	holdRefresh(ctx context.Context, view, holder string, hold time.Duration) error
	// refreshFailed lets go of the refresh and makes it due again within
	// retry.
	refreshFailed(ctx context.Context, view, holder string, retry time.Duration) error
	// absentDocs lists which of ids a refresh need not write when they
	// are computed absent again: see state.absentDocs.
	absentDocs(ctx context.Context, view string, ids []string) (map[string]bool, error)
	// goneWritten records that the docs (id → revision), computed absent,
	// were written so to every store.
	goneWritten(ctx context.Context, view string, revs map[string]int64) error
}

// errRefreshLost: the refresh is held by another instance now (this one
// did not renew its hold in time). It goes on from this one's last chunk.
var errRefreshLost = errors.New("the refresh was taken up by another instance")

// refreshesTable records, per view, when its next refresh is due, when
// the last one claimed started, how far an unfinished one got (a DocIDs
// cursor, in the listing named: the root source and group_by columns it
// pages through), and who holds it until when.
func (s *state) refreshesTable() string {
	return `CREATE TABLE IF NOT EXISTS ` + s.ident("refreshes") + ` (
			view text PRIMARY KEY, due_at timestamptz NOT NULL, started_at timestamptz NOT NULL,
			listing text NOT NULL, cursor text, holder text, held_until timestamptz)`
}

// claimRefresh: a view refreshed for the first time is due at once, and so
// is one whose next refresh is further off than every (its refresh was
// shortened). A cursor of another listing (the view's from: or group_by
// changed) is dropped: the refresh starts again. While it runs, the
// refresh stays due (due_at is set when it is done).
func (s *state) claimRefresh(ctx context.Context, view, listing, holder string, every, hold time.Duration) (bool, string, error) {
	var cursor *string
	err := s.pool.QueryRow(ctx, `INSERT INTO `+s.ident("refreshes")+` AS r (view, due_at, started_at, listing, holder, held_until)
		VALUES ($1, now(), now(), $3, $4, now() + make_interval(secs => $5))
		ON CONFLICT (view) DO UPDATE SET due_at = least(r.due_at, now()), started_at = now(), listing = excluded.listing,
			holder = excluded.holder, held_until = excluded.held_until,
			cursor = CASE WHEN r.listing = excluded.listing THEN r.cursor END
			WHERE (r.due_at <= now() OR r.due_at > now() + make_interval(secs => $2))
				AND (r.held_until IS NULL OR r.held_until <= now())
		RETURNING cursor`, view, every.Seconds(), listing, holder, hold.Seconds()).Scan(&cursor)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return false, "", nil
	case err != nil:
		return false, "", err
	case cursor == nil:
		return true, "", nil
	}
	return true, *cursor, nil
}

func (s *state) refreshed(ctx context.Context, view, holder, cursor string, every, hold time.Duration) error {
	if cursor == "" {
		return s.heldUpdate(ctx, `cursor = NULL, holder = NULL, held_until = NULL, due_at = started_at + make_interval(secs => $3)`, view, holder, every.Seconds())
	}
	return s.heldUpdate(ctx, `cursor = $3, held_until = now() + make_interval(secs => $4)`, view, holder, cursor, hold.Seconds())
}

func (s *state) holdRefresh(ctx context.Context, view, holder string, hold time.Duration) error {
	return s.heldUpdate(ctx, `held_until = now() + make_interval(secs => $3)`, view, holder, hold.Seconds())
}

func (s *state) refreshFailed(ctx context.Context, view, holder string, retry time.Duration) error {
	return s.heldUpdate(ctx, `holder = NULL, held_until = NULL, due_at = now() + make_interval(secs => $3)`, view, holder, retry.Seconds())
}

// heldUpdate sets what set says of the view's refresh if holder holds it
// still ($1 and $2 are the view and holder, args follow), and
// errRefreshLost if not.
func (s *state) heldUpdate(ctx context.Context, set, view, holder string, args ...any) error {
	tag, err := s.pool.Exec(ctx, `UPDATE `+s.ident("refreshes")+` SET `+set+` WHERE view = $1 AND holder = $2`,
		append([]any{view, holder}, args...)...)
	if err == nil && tag.RowsAffected() == 0 {
		return errRefreshLost
	}
	return err
}

// absentDocs lists the docs whose absence the stores hold: computed absent
// and written so by a refresh at their current revision (gone_written), or
// with no revision at all (collected, after the retention, long after
// their absence was written). A doc computed absent by anything else (a
// batch, a rebuild's fill that writes only the new generation, a refresh
// stopped before its writes) is written by the next refresh once more.
func (s *state) absentDocs(ctx context.Context, view string, ids []string) (map[string]bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT u.id FROM unnest($2::text[]) AS u(id)
		LEFT JOIN `+s.ident("revs")+` r ON r.view = $1 AND r.doc_id = u.id
		WHERE r.doc_id IS NULL OR r.deleted_at IS NOT NULL AND r.gone_written = r.rev`, view, ids)
	if err != nil {
		return nil, err
	}
	gone, err := pgx.CollectRows(rows, pgx.RowTo[string])
	out := make(map[string]bool, len(gone))
	for _, id := range gone {
		out[id] = true
	}
	return out, err
}

// goneWritten marks the revisions still at the revision written; one a
// batch holds is skipped rather than waited for (in no fixed order, the
// wait could deadlock with it), and left to be written again.
func (s *state) goneWritten(ctx context.Context, view string, revs map[string]int64) error {
	if len(revs) == 0 {
		return nil
	}
	ids, nums := make([]string, 0, len(revs)), make([]int64, 0, len(revs))
	for id, rev := range revs {
		ids, nums = append(ids, id), append(nums, rev)
	}
	_, err := s.pool.Exec(ctx, `UPDATE `+s.ident("revs")+` r SET gone_written = r.rev
		WHERE r.view = $1 AND r.doc_id IN (
			SELECT x.doc_id FROM `+s.ident("revs")+` x JOIN unnest($2::text[], $3::bigint[]) AS u(id, rev)
				ON x.view = $1 AND x.doc_id = u.id AND x.rev = u.rev AND x.deleted_at IS NOT NULL
			FOR UPDATE OF x SKIP LOCKED)`, view, ids, nums)
	return err
}

// The process's own state has no other instance to share a refresh with:
// each one is due when asked, from the start.
func (s *memState) claimRefresh(context.Context, string, string, string, time.Duration, time.Duration) (bool, string, error) {
	return true, "", nil
}

func (s *memState) refreshed(context.Context, string, string, string, time.Duration, time.Duration) error {
	return nil
}

func (s *memState) holdRefresh(context.Context, string, string, time.Duration) error { return nil }

func (s *memState) refreshFailed(context.Context, string, string, time.Duration) error { return nil }

// absentDocs: a memory state keeps no mark of an absence written, so only
// a doc never computed is absent to it.
func (s *memState) absentDocs(_ context.Context, view string, ids []string) (map[string]bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]bool{}
	for _, id := range ids {
		if _, ok := s.revs[view][id]; !ok {
			out[id] = true
		}
	}
	return out, nil
}

func (s *memState) goneWritten(context.Context, string, map[string]int64) error { return nil }
