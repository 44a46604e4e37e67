package projector

// Refresh: a view whose expressions call now() (a where keeping the last 30
// days, an age in days) changes with the clock, with no change to its rows
// to recompute it. A view that declares `refresh:` has every document
// recomputed that often, a chunk at a time, with new revisions like any
// change, by one instance of those that run it.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/projectorhq/projector/projections"
)

// refreshesTable records, per view, when its next refresh is due and how
// far an unfinished one got: any instance may claim a due refresh (one
// does), and one claimed after a crash goes on from where it stopped.
func (s *state) refreshesTable() string {
	return `CREATE TABLE IF NOT EXISTS ` + s.ident("refreshes") + ` (
			view text PRIMARY KEY, due_at timestamptz NOT NULL, cursor text)`
}

// claimRefresh claims the view's refresh when it is due, making the next one
// due every from now, and returns where an unfinished one stopped ("" for
// the start). A view refreshed for the first time is due at once; one
// whose next refresh is further off than every (its refresh was shortened)
// is due too.
func (s *state) claimRefresh(ctx context.Context, view string, every time.Duration) (bool, string, error) {
	var cursor *string
	err := s.pool.QueryRow(ctx, `INSERT INTO `+s.ident("refreshes")+` AS r (view, due_at)
		VALUES ($1, now() + make_interval(secs => $2))
		ON CONFLICT (view) DO UPDATE SET due_at = excluded.due_at
			WHERE r.due_at <= now() OR r.due_at > excluded.due_at
		RETURNING r.cursor`, view, every.Seconds()).Scan(&cursor)
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

// refreshed records how far the view's refresh got: after cursor (see
// DocIDs), or done ("").
func (s *state) refreshed(ctx context.Context, view, cursor string) error {
	var c *string
	if cursor != "" {
		c = &cursor
	}
	_, err := s.pool.Exec(ctx, `UPDATE `+s.ident("refreshes")+` SET cursor = $2 WHERE view = $1`, view, c)
	return err
}

// The process's own state has no other instance to share a refresh with:
// each one is due when asked.
func (s *memState) claimRefresh(context.Context, string, time.Duration) (bool, string, error) {
	return true, "", nil
}

func (s *memState) refreshed(context.Context, string, string) error { return nil }

// absentDocs lists which of the view's docs are absent: computed absent
// last (a deleted revision), or never computed (no revision, or one
// collected since).
func (s *state) absentDocs(ctx context.Context, view string, ids []string) (map[string]bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT u.id FROM unnest($2::text[]) AS u(id)
		LEFT JOIN `+s.ident("revs")+` r ON r.view = $1 AND r.doc_id = u.id
		WHERE r.doc_id IS NULL OR r.deleted_at IS NOT NULL`, view, ids)
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

// absentDocs: a memory state keeps no deletion stamp (see deletedDocs), so
// only a doc never computed is absent to it.
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

// Refresh recomputes every document of the view, from after the cursor
// `after` ("" for the first), a chunk at a time, each with a new revision,
// and writes them to the engine's sinks (retrying until they are stored or
// ctx ends): a document the clock took out of the view is deleted, one it
// brought in is created. A document absent before and still absent is
// left as it is (a window over the last 30 days leaves most rows out, and
// writing their tombstones again at every refresh would cost more than
// the view). progress, when not nil, is told the cursor after each chunk
// written. It returns how many documents it wrote.
func (e *Engine) Refresh(ctx context.Context, view, after string, progress func(cursor string) error) (int, error) {
	if e.plan.View(view) == nil {
		return 0, fmt.Errorf("%w: view %q", ErrUnknownView, view)
	}
	done := 0
	for {
		ids, next, err := e.DocIDs(ctx, view, after, e.chunk)
		if err != nil || len(ids) == 0 {
			return done, err
		}
		if err := e.keepArrivals(ctx, view, ids); err != nil {
			return done, err
		}
		if len(ids) > 0 {
			docs, err := e.recompute(ctx, map[string]map[string]map[string]any{view: ids})
			if err != nil {
				return done, err
			}
			if err := e.WriteDocs(ctx, e.Routes(), docs); err != nil {
				return done, err
			}
			done += len(docs)
			e.metrics.refreshed.WithLabelValues(view).Add(float64(len(docs)))
		}
		if progress != nil {
			if err := progress(next); err != nil {
				return done, err
			}
		}
		after = next
	}
}

// keepArrivals removes from ids the docs absent before that are absent
// still: computed (without new revisions) from the state as it is now. A
// change that creates one of them meanwhile recomputes it itself.
func (e *Engine) keepArrivals(ctx context.Context, view string, ids map[string]map[string]any) error {
	gone, err := e.state.absentDocs(ctx, view, slices.Collect(maps.Keys(ids)))
	if err != nil || len(gone) == 0 {
		return err
	}
	was := make(map[string]map[string]any, len(gone))
	for id := range gone {
		if key, ok := ids[id]; ok {
			was[id] = key
		}
	}
	docs, err := e.computeIn(ctx, map[string]map[string]map[string]any{view: was}, peek, held{})
	if err != nil {
		return err
	}
	for _, d := range docs {
		if d.Deleted {
			delete(ids, d.ID)
		}
	}
	return nil
}

// KeepRefreshing refreshes each view that declares a refresh whenever it
// is due, until ctx ends. Every instance runs it; each due refresh is run
// by the one that claims it (and one claimed after a crash, or while a
// slow one still runs, goes on from the last chunk recorded: a document
// computed twice is harmless).
func (e *Engine) KeepRefreshing(ctx context.Context) {
	var wg sync.WaitGroup
	for _, v := range e.plan.Views {
		if v.Refresh > 0 {
			wg.Go(func() { e.keepRefreshing(ctx, v) })
		}
	}
	wg.Wait()
}

func (e *Engine) keepRefreshing(ctx context.Context, v *projections.View) {
	// Asked a tenth as often as it is due (from every second to every
	// minute): a refresh starts at most that late.
	t := time.NewTicker(min(max(v.Refresh/10, time.Second), time.Minute))
	defer t.Stop()
	for {
		if err := e.refreshIfDue(ctx, v); err != nil && ctx.Err() == nil {
			e.log.Warn("refreshing a view failed; trying again when it is next due", "view", v.Name, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (e *Engine) refreshIfDue(ctx context.Context, v *projections.View) error {
	due, from, err := e.state.claimRefresh(ctx, v.Name, v.Refresh)
	if err != nil || !due {
		return err
	}
	start := time.Now()
	n, err := e.Refresh(ctx, v.Name, from, func(cursor string) error {
		return e.state.refreshed(ctx, v.Name, cursor)
	})
	if err != nil {
		return err
	}
	if err := e.state.refreshed(ctx, v.Name, ""); err != nil {
		return err
	}
	took := time.Since(start)
	e.metrics.lastRefresh.WithLabelValues(v.Name).SetToCurrentTime()
	e.log.Info("view refreshed", "view", v.Name, "docs", n, "took", took.Round(time.Millisecond))
	if took > v.Refresh {
		e.log.Warn("a refresh took longer than the view's refresh interval: the next one is due before this one ended", "view", v.Name, "took", took.Round(time.Second), "refresh", v.Refresh)
	}
	return nil
}
