package projector

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/projectorhq/projector/projections"
)

// tombstoneChunk bounds one delete: short transactions, few row locks.
const tombstoneChunk = 10_000

// CollectTombstones removes from the state the tombstones of rows deleted
// more than retention ago, and returns how many it removed. A tombstone
// keeps an older change of its row, replayed later, from bringing the row
// back; past the retention no such replay is expected (the topic's own
// retention, a consumer's lag), and the row only costs storage. The
// documents' revisions are kept: a row created again later still gets
// revisions above the delete's.
func (e *Engine) CollectTombstones(ctx context.Context, retention time.Duration) (int64, error) {
	var total int64
	for _, src := range e.plan.Sources {
		n, err := e.state.collectTombstones(ctx, src, retention, tombstoneChunk)
		total += n
		e.metrics.tombstones.WithLabelValues(src.Name).Add(float64(n))
		if err != nil {
			return total, fmt.Errorf("%w: %w", ErrState, err)
		}
	}
	return total, nil
}

// CollectRevisions removes the revisions of documents deleted more than
// retention ago, raising each view's revision floor to them (see
// revisions.go), and returns how many it removed. A view whose floor the
// batches under way hold too long is left for the next call, with a
// warning (see collectViewRevisions).
func (e *Engine) CollectRevisions(ctx context.Context, retention time.Duration) (int64, error) {
	var total int64
	for _, v := range e.plan.Views {
		if e.keepRevs != nil {
			keep, err := e.keepRevs(ctx, v.Name)
			if err != nil {
				return total, err
			}
			if keep {
				e.log.Info("keeping the revisions of deleted documents until a rebuild purges the keys of an old Redis key template", "view", v.Name)
				continue
			}
		}
		n, err := e.collectViewRevisions(ctx, v.Name, retention)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// collectViewRevisions collects the revisions of view's documents deleted
// more than retention ago, a chunk at a time. Should the batches keep the
// view's floor too long (errFloorBusy), it warns and leaves the rest for
// the next round: the other views, and the sink tombstones after them,
// are collected all the same.
func (e *Engine) collectViewRevisions(ctx context.Context, view string, retention time.Duration) (int64, error) {
	var total int64
	for {
		n, err := e.state.collectRevisions(ctx, view, retention, tombstoneChunk)
		total += n
		e.metrics.revisions.Add(float64(n))
		if errors.Is(err, errFloorBusy) {
			e.log.Warn("collecting the revisions of deleted documents gave up waiting for the batches under way; trying again at the next collection",
				"view", view, "err", err)
			return total, nil
		}
		if err != nil {
			return total, fmt.Errorf("%w: %w", ErrState, err)
		}
		if n < tombstoneChunk {
			return total, nil
		}
	}
}

// TombstonePurger is a sink that keeps deleted documents as tombstones
// (PostgreSQL rows, Elasticsearch documents) so that an older write arriving
// late cannot bring them back, and can remove those older than a retention.
// Redis needs none of it: its tombstones expire by themselves.
type TombstonePurger interface {
	PurgeTombstones(ctx context.Context, olderThan time.Duration) (int64, error)
}

// PurgeSinkTombstones removes, from every sink that keeps them, the
// tombstones of documents deleted more than retention ago, and returns how
// many it removed. A document created again later gets a revision above
// the one its tombstone had, whether the tombstone is still there or not.
func (e *Engine) PurgeSinkTombstones(ctx context.Context, retention time.Duration) (int64, error) {
	var total int64
	var errs []error
	for _, r := range e.Routes() {
		p, ok := r.Sink.(TombstonePurger)
		if !ok {
			continue
		}
		n, err := p.PurgeTombstones(ctx, retention)
		total += n
		e.metrics.sinkTombstones.WithLabelValues(r.Sink.Name()).Add(float64(n))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.Sink.Name(), err))
		}
	}
	return total, errors.Join(errs...)
}

// collectAll runs the three collections, each whatever the others did.
func (e *Engine) collectAll(ctx context.Context, retention time.Duration, every time.Duration) {
	steps := []struct {
		what string
		run  func(context.Context, time.Duration) (int64, error)
	}{
		{"state tombstones", e.CollectTombstones},
		{"revisions of deleted documents", e.CollectRevisions},
		{"sink tombstones", e.PurgeSinkTombstones},
	}
	for _, s := range steps {
		n, err := s.run(ctx, retention)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			e.log.Warn("collecting "+s.what+" failed; trying again later", "retry_in", every, "err", err)
		case n > 0:
			e.log.Info(s.what+" collected", "count", n, "older_than", retention)
		}
	}
}

// KeepCollectingTombstones runs CollectTombstones now and then every
// retention/4 (at most hourly, at least every second) until ctx ends. A retention of 0 keeps
// tombstones forever. Several instances may run it at once: each skips the
// rows another is deleting.
func (e *Engine) KeepCollectingTombstones(ctx context.Context, retention time.Duration) {
	if retention <= 0 {
		return
	}
	every := max(min(retention/4, time.Hour), time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		e.collectAll(ctx, retention, every)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// collectTombstones skips rows a batch is writing (SKIP LOCKED), and the
// delete checks again that each row is still an old tombstone: a change
// applied to it meanwhile keeps it. The chunks walk the tombstone index in
// key order, each from after the last key the one before deleted: one
// that looked from the start of the index again, past the young
// tombstones and the dead entries the chunks before left, would make a
// backlog cost its square.
func (s *state) collectTombstones(ctx context.Context, src *projections.Source, age time.Duration, limit int) (int64, error) {
	t := s.table(src)
	old := `deleted AND updated_at < now() - make_interval(secs => $1)`
	sql := func(started bool) string {
		return `WITH gone AS (DELETE FROM ` + t + ` WHERE key = ANY(ARRAY(
			SELECT key FROM ` + t + ` WHERE ` + old + ` AND key ` + afterOp(started) + ` $3
			ORDER BY key LIMIT $2 FOR UPDATE SKIP LOCKED)) AND ` + old + ` RETURNING key)
		SELECT count(*), coalesce(max(key), '') FROM gone`
	}
	var total int64
	for after, started := "", false; ; started = true {
		var n int64
		if err := s.pool.QueryRow(ctx, sql(started), age.Seconds(), limit, after).Scan(&n, &after); err != nil {
			return total, fmt.Errorf("collect tombstones of %s: %w", src.Name, err)
		}
		total += n
		if n < int64(limit) {
			return total, nil
		}
	}
}
