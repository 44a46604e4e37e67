package rebuild

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// page is one chunk of document ids, in key order.
type page struct {
	seq  int
	ids  map[string]map[string]any
	last string // the cursor after this page
}

// chunks lists the view's documents after the cursor in pages of
// opts.Chunk and runs work on opts.Workers pages at once. advance is
// called in page order, from this goroutine, with the cursor up to which
// every page is done: that is what a resume may start from.
func (r *run) chunks(ctx context.Context, after string, work func(context.Context, page) error, advance func(cursor string, docs int64) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var once sync.Once
	var first error
	fail := func(err error) {
		once.Do(func() { first = err; cancel() })
	}

	pages := make(chan page, r.opts.Workers)
	go func() {
		defer close(pages)
		cursor := after
		for seq := 0; ; seq++ {
			ids, last, err := r.env.Engine.DocIDs(ctx, r.gen.View, cursor, r.opts.Chunk)
			if err != nil {
				fail(fmt.Errorf("list documents of %s after %q: %w", r.gen.View, cursor, err))
				return
			}
			if last == "" {
				return
			}
			select {
			case pages <- page{seq: seq, ids: ids, last: last}:
			case <-ctx.Done():
				return
			}
			cursor = last
		}
	}()

	done := make(chan page, r.opts.Workers)
	var wg sync.WaitGroup
	for range r.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range pages {
				if ctx.Err() != nil {
					continue // drain, so the lister ends
				}
				if err := work(ctx, p); err != nil {
					fail(err)
					continue
				}
				done <- p
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()

	// Pages finish out of order; the cursor only moves over a prefix of
	// finished pages.
	next, waiting := 0, map[int]page{}
	for p := range done {
		waiting[p.seq] = p
		for {
			q, ok := waiting[next]
			if !ok {
				break
			}
			delete(waiting, next)
			next++
			if err := advance(q.last, int64(len(q.ids))); err != nil {
				fail(err)
			}
		}
	}
	if first != nil {
		return first
	}
	return ctx.Err()
}

// fill recomputes every document of the view from the state and writes it
// to the new generation (and the live Redis keys), recording the cursor in
// the registry so that a killed run resumes after the last chunk done.
func (r *run) fill(ctx context.Context) error {
	g := &r.gen
	routes, err := r.routes()
	if err != nil {
		return err
	}
	r.opts.Progress.Phase("fill", max(g.DocsTotal-g.DocsDone, 0))
	defer r.opts.Progress.Done()
	done, cursor := g.DocsDone, g.Cursor
	var saved time.Time
	work := func(ctx context.Context, p page) error {
		docs, err := r.env.Engine.RecomputeDocs(ctx, g.View, p.ids)
		if err != nil {
			return fmt.Errorf("recompute %d documents of %s: %w", len(p.ids), g.View, err)
		}
		if err := r.write(ctx, routes, docs); err != nil {
			return err
		}
		r.opts.Progress.Add(int64(len(p.ids)))
		return nil
	}
	advance := func(c string, n int64) error {
		cursor, done = c, done+n
		r.res.Filled += n
		if time.Since(saved) < time.Second {
			return nil
		}
		saved = time.Now()
		return r.env.Registry.Progress(ctx, g.View, g.Number, cursor, done, g.DocsTotal, false)
	}
	err = r.chunks(ctx, g.Cursor, work, advance)
	if err != nil {
		// Keep what is done for --resume, even when ctx ended.
		if perr := r.env.Registry.Progress(context.WithoutCancel(ctx), g.View, g.Number, cursor, done, g.DocsTotal, false); perr != nil {
			err = errors.Join(err, perr)
		}
		return err
	}
	if err := r.env.Registry.Progress(ctx, g.View, g.Number, cursor, done, g.DocsTotal, true); err != nil {
		return err
	}
	g.Cursor, g.DocsDone, g.Filled = cursor, done, true
	return nil
}

// write writes docs to every route at once: the stores are independent,
// and a chunk is done when the slowest acknowledged.
func (r *run) write(ctx context.Context, routes []projector.Route, docs []sinks.Doc) error {
	errs := make([]error, len(routes))
	var wg sync.WaitGroup
	for i := range routes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.env.Engine.WriteDocs(ctx, routes[i:i+1], docs); err != nil {
				errs[i] = fmt.Errorf("write %d documents of %s generation %d to %s: %w", len(docs), r.gen.View, r.gen.Number, routes[i].Sink.Name(), err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
