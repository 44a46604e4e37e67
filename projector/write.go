package projector

import (
	"context"
	"errors"
	"fmt"
	"sync"
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
// The routes are written concurrently (each store at its own pace; a slow
// or failing one does not hold the others back), and WriteDocs returns once
// every one acknowledged every doc, or ctx ends.
func (e *Engine) WriteDocs(ctx context.Context, routes []Route, docs []sinks.Doc) error {
	if len(routes) == 1 {
		return e.writeRoute(ctx, routes[0], docs)
	}
	errs := make([]error, len(routes))
	var wg sync.WaitGroup
	for i, r := range routes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = e.writeRoute(ctx, r, docs)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// writeRoute writes the route's docs, retrying what failed with capped
// exponential backoff until it is stored or ctx ends.
func (e *Engine) writeRoute(ctx context.Context, r Route, docs []sinks.Doc) error {
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
			return nil
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
	return nil
}
