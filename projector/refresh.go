package projector

// Refresh: a view whose expressions call now() (a where keeping the last 30
// days, an age in days) changes with the clock, with no change to its rows
// to recompute it. A view that declares `refresh:` has every document
// recomputed that often, a chunk at a time, with new revisions like any
// change, by one instance of those that run it.

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks"
)

// Refresh recomputes every document of the view, from after the cursor
// `after` ("" for the first), a chunk at a time, each with a new revision,
// and writes them to the engine's sinks (retrying until they are stored or
// ctx ends): a document the clock took out of the view is deleted, one it
// brought in is created. A document whose absence a refresh wrote before
// and that is absent still is left as it is (a window over the last 30
// days leaves most rows out, and writing their deletes again at every
// refresh would cost more than the view). Docs a store refuses for a
// conflict are set aside, as a batch's are. progress, when not nil, is
// told the cursor after each chunk written. It returns how many documents
// it wrote.
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
		n, err := e.refreshChunk(ctx, view, ids)
		done += n
		if err != nil {
			return done, err
		}
		if progress != nil {
			if err := progress(next); err != nil {
				return done, err
			}
		}
		after = next
	}
}

func (e *Engine) refreshChunk(ctx context.Context, view string, ids map[string]map[string]any) (int, error) {
	arrived, err := e.keepArrivals(ctx, view, ids)
	if err != nil || len(ids) == 0 && len(arrived) == 0 {
		return 0, err
	}
	var docs []sinks.Doc
	if len(ids) > 0 {
		if docs, err = e.recompute(ctx, map[string]map[string]map[string]any{view: ids}); err != nil {
			return 0, err
		}
	}
	if len(arrived) > 0 {
		// Counted by keepArrivals' check already.
		more, err := e.computeIn(ctx, map[string]map[string]map[string]any{view: arrived}, bump, held{}, uncounted)
		if err != nil {
			return 0, err
		}
		docs = append(docs, more...)
	}
	refused, err := e.writeDocs(ctx, e.Routes(), docs)
	e.refuse(refused)
	_ = e.setAside(ctx, refused, nil) // logged; this instance still tries them again
	if err != nil {
		return 0, err
	}
	e.metrics.refreshed.WithLabelValues(view).Add(float64(len(docs)))
	gone := map[string]int64{}
	for _, d := range docs {
		if d.Deleted {
			gone[d.ID] = d.Rev
		}
	}
	for _, r := range refused {
		delete(gone, r.Doc.ID)
	}
	return len(docs), e.state.goneWritten(ctx, view, gone)
}

// keepArrivals removes from ids the docs whose absence the stores hold
// (absentDocs): those absent still, computed (without new revisions) from
// the state as it is now, and those that arrived, which it returns. A
// change that creates one of them meanwhile writes it itself. The check
// counts the docs' expression errors: an absent doc is not computed
// again, an arrival is without counting.
func (e *Engine) keepArrivals(ctx context.Context, view string, ids map[string]map[string]any) (arrived map[string]map[string]any, err error) {
	gone, err := e.state.absentDocs(ctx, view, slices.Collect(maps.Keys(ids)))
	if err != nil || len(gone) == 0 {
		return nil, err
	}
	was := make(map[string]map[string]any, len(gone))
	for id := range gone {
		if key, ok := ids[id]; ok {
			was[id] = key
		}
	}
	docs, err := e.computeIn(ctx, map[string]map[string]map[string]any{view: was}, peek, held{}, counted)
	if err != nil {
		return nil, err
	}
	arrived = map[string]map[string]any{}
	for _, d := range docs {
		if !d.Deleted {
			arrived[d.ID] = ids[d.ID]
		}
		delete(ids, d.ID)
	}
	return arrived, nil
}

// KeepRefreshing refreshes each view that declares a refresh whenever it
// is due, until ctx ends. Every instance runs it; each due refresh is run
// by the one that claims it, which holds it while it writes chunks:
// another takes it up from the last chunk recorded only when that one
// stopped (a crash, a deploy), within a hold (refreshHold). An instance runs one refresh at a time,
// so that refreshes take one of the connections the batches need.
func (e *Engine) KeepRefreshing(ctx context.Context) {
	var wg sync.WaitGroup
	var one sync.Mutex
	for _, v := range e.plan.Views {
		if v.Refresh > 0 {
			wg.Go(func() { e.keepRefreshing(ctx, v, &one) })
		}
	}
	wg.Wait()
}

func (e *Engine) keepRefreshing(ctx context.Context, v *projections.View, one *sync.Mutex) {
	// Asked a tenth as often as it is due (from every second to every
	// minute): a refresh starts at most that late.
	t := time.NewTicker(min(max(v.Refresh/10, time.Second), time.Minute))
	defer t.Stop()
	var unclaimed error // why the last claim failed; nil if it worked
	for {
		one.Lock()
		unclaimed = e.tryRefresh(ctx, v, unclaimed)
		one.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// errRefreshUnclaimed: a refresh could not be claimed (its state in
// PostgreSQL could not be read or written), so it did not run.
var errRefreshUnclaimed = errors.New("could not claim the refresh")

// tryRefresh runs the view's refresh if it is due (a refresh that fails is
// logged by refreshIfDue, and tried again when due again) and returns why
// it could not be claimed, nil if it could. A claim failing is logged when
// it starts to (was, the last claim's failure, is nil) and when it works
// again, as the store probes log a store down and back: PostgreSQL down
// under `refresh: 1s` would warn every second otherwise.
func (e *Engine) tryRefresh(ctx context.Context, v *projections.View, was error) error {
	err := e.refreshIfDue(ctx, v)
	if !errors.Is(err, errRefreshUnclaimed) {
		err = nil
	}
	switch {
	case ctx.Err() != nil:
		return was // stopping: a claim cut short says nothing of PostgreSQL
	case err != nil && was == nil:
		e.log.Warn("a view's refresh does not run until it can be claimed; trying again", "view", v.Name, "err", err)
	case err == nil && was != nil:
		e.log.Info("a view's refresh can be claimed again", "view", v.Name)
	}
	return err
}

// listing names the listing a view's refresh cursor points into (see
// DocIDs): its root rows', or its groups' by its group_by columns.
func listing(v *projections.View) string {
	return v.Root.Name + "/" + strings.Join(v.GroupBy, ",")
}

// refreshHold is how long an instance holds the refresh it runs without
// renewing its hold (it renews it three times as often, and at each chunk):
// how late another instance takes up a refresh the first stopped running.
const refreshHold = time.Minute

func (e *Engine) refreshIfDue(ctx context.Context, v *projections.View) error {
	holder := rand.Text()
	due, from, err := e.state.claimRefresh(ctx, v.Name, listing(v), holder, v.Refresh, e.refreshHold)
	if err != nil {
		return fmt.Errorf("%w: %w", errRefreshUnclaimed, err) // logged by tryRefresh, once for a run of failures
	}
	if !due {
		return nil
	}
	start := time.Now()
	held, lost := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { e.holdRefresh(held, v.Name, holder, lost) })
	defer func() { lost(nil); wg.Wait() }()
	n, err := e.Refresh(held, v.Name, from, func(cursor string) error {
		return e.state.refreshed(held, v.Name, holder, cursor, v.Refresh, e.refreshHold)
	})
	if err == nil {
		err = e.state.refreshed(held, v.Name, holder, "", v.Refresh, e.refreshHold)
	}
	if err != nil && errors.Is(context.Cause(held), errRefreshLost) {
		err = errRefreshLost // cut short by it (a renewal after the end finds it let go: no matter)
	}
	if errors.Is(err, errRefreshLost) {
		e.log.Warn("a refresh was taken up by another instance: this one could not renew its hold in time", "view", v.Name, "docs", n)
		return nil
	}
	if err != nil {
		// Stopped (a deploy), the refresh is let go of at once, for
		// another instance to take up from its last chunk; failed, it is
		// tried again shortly, by whichever instance claims it.
		retry := time.Duration(0)
		if ctx.Err() == nil {
			retry = min(v.Refresh, time.Minute)
			e.log.Warn("refreshing a view failed; trying again from where it stopped", "view", v.Name, "retry_in", retry, "err", err)
		}
		release, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := e.state.refreshFailed(release, v.Name, holder, retry); err != nil && !errors.Is(err, errRefreshLost) {
			e.log.Warn("could not let go of a refresh: it is taken up again when its hold lapses", "view", v.Name, "err", err)
		}
		return err
	}
	took := time.Since(start)
	e.metrics.lastRefresh.WithLabelValues(v.Name).SetToCurrentTime()
	e.log.Info("view refreshed", "view", v.Name, "docs", n, "took", took.Round(time.Millisecond))
	if took > v.Refresh {
		e.log.Warn("a refresh took longer than the view's refresh interval: the next one is due at once", "view", v.Name, "took", took.Round(time.Second), "refresh", v.Refresh)
	}
	return nil
}

// holdRefresh renews the hold on the view's refresh until ctx ends, three
// times a hold (a chunk whose writes are retried through a store's outage
// may take longer than the hold), and ends the refresh with errRefreshLost
// if another instance holds it now. A renewal that fails otherwise is
// tried again at the next.
func (e *Engine) holdRefresh(ctx context.Context, view, holder string, lost context.CancelCauseFunc) {
	t := time.NewTicker(e.refreshHold / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := e.state.holdRefresh(ctx, view, holder, e.refreshHold)
		switch {
		case errors.Is(err, errRefreshLost):
			lost(errRefreshLost)
			return
		case err != nil && ctx.Err() == nil:
			e.log.Warn("could not renew the hold on a refresh; trying again", "view", view, "err", err)
		}
	}
}
