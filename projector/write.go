package projector

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/projectorhq/projector/sinks"
)

// write hands docs to every sink, retrying what failed with capped
// exponential backoff until it succeeds or ctx ends. Nothing is skipped.
func (e *Engine) write(ctx context.Context, docs []sinks.Doc) error {
	return e.WriteDocs(ctx, e.Routes(), docs)
}

// Routes returns the sinks the engine writes to.
func (e *Engine) Routes() []Route {
	e.routesMu.RLock()
	defer e.routesMu.RUnlock()
	return e.sinks
}

// SetRoutes replaces the sinks the engine writes to, from the next batch on:
// a rebuild adds the sinks of the generation it builds, so that live
// changes reach both generations, and removes them after the swap.
func (e *Engine) SetRoutes(routes []Route) {
	e.routesMu.Lock()
	defer e.routesMu.Unlock()
	e.sinks = routes
}

// WriteDocs writes docs to the given routes with the engine's retry rules.
func (e *Engine) WriteDocs(ctx context.Context, routes []Route, docs []sinks.Doc) error {
	for _, r := range routes {
		s := r.Sink
		todo := r.filter(docs)
		wait := 100 * time.Millisecond
		for len(todo) > 0 {
			start := time.Now()
			err := s.Write(ctx, todo)
			e.metrics.sinkSeconds.WithLabelValues(s.Name()).Observe(time.Since(start).Seconds())
			if err == nil {
				e.metrics.docsWritten.WithLabelValues(s.Name()).Add(float64(len(todo)))
				e.health.set(s.Name(), nil)
				break
			}
			e.metrics.sinkErrors.WithLabelValues(s.Name()).Inc()
			e.health.set(s.Name(), err)
			var be *sinks.BatchError
			if errors.As(err, &be) {
				failed := make([]sinks.Doc, 0, len(be.Failed))
				for i := range todo {
					if _, bad := be.Failed[i]; bad {
						failed = append(failed, todo[i])
					}
				}
				e.metrics.docsWritten.WithLabelValues(s.Name()).Add(float64(len(todo) - len(failed)))
				todo = failed
			}
			e.log.Warn("sink write failed; retrying", "sink", s.Name(), "docs", len(todo), "retry_in", wait, "err", err)
			select {
			case <-ctx.Done():
				return fmt.Errorf("sink %s: %w (last error: %v)", s.Name(), ctx.Err(), err)
			case <-time.After(wait):
			}
			wait = min(2*wait, e.backoff)
		}
	}
	return nil
}
