package projector

import (
	"context"
	"fmt"
	"time"
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
		for {
			n, err := e.state.collectTombstones(ctx, src, retention, tombstoneChunk)
			if err != nil {
				return total, fmt.Errorf("%w: %w", ErrState, err)
			}
			total += n
			e.metrics.tombstones.WithLabelValues(src.Name).Add(float64(n))
			if n < tombstoneChunk {
				break
			}
		}
	}
	return total, nil
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
		n, err := e.CollectTombstones(ctx, retention)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			e.log.Warn("collecting state tombstones failed; trying again later", "retry_in", every, "err", err)
		case n > 0:
			e.log.Info("state tombstones collected", "rows", n, "older_than", retention)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
