package projector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/projectorhq/projector/sinks"
)

// write hands docs to every sink, retrying what failed with capped
// exponential backoff until it succeeds or ctx ends. Nothing is skipped but
// the docs a store refuses as they are, which come back as refusals, logged
// and counted.
func (e *Engine) write(ctx context.Context, docs []sinks.Doc) ([]Refusal, error) {
	refused, err := e.writeDocs(ctx, e.Routes(), docs)
	e.refuse(refused)
	return refused, err
}

// Refusal is a doc a store refused as it is (sinks.ErrRefused: a value out
// of a column's range, say). Retrying it unchanged cannot succeed, and
// retrying forever would stop every change behind it, so it is set aside:
// logged, counted (projector_docs_refused_total) and, from the consumer,
// sent to the dead-letter topic like a record that cannot be projected.
// The store keeps the doc's previous version until a later change gives
// one it takes.
type Refusal struct {
	Sink string
	Doc  sinks.Doc
	Err  error
}

// kept is the refusal as a batch keeps it once its chunk is written (see
// Batch.Refused): the doc's view, id and revision, its key only when it is
// refused for a conflict (to be written again, see setAside), and the
// reason's text; not its fields, nor the store's error values, which a
// fan-out of refused docs would hold a copy of per doc. The docs of a
// fan-out are often refused for one reason, the same text every time: it
// is kept once, shared with the refusal kept before (last) when that had
// it too.
func (r Refusal) kept(last *Refusal) Refusal {
	d := sinks.Doc{View: r.Doc.View, ID: r.Doc.ID, Rev: r.Doc.Rev, Deleted: r.Doc.Deleted}
	why := reason{text: r.Err.Error(), conflict: errors.Is(r.Err, sinks.ErrConflict)}
	if why.conflict {
		d.Key = r.Doc.Key
	}
	if last != nil {
		if same, ok := last.Err.(*reason); ok && *same == why {
			return Refusal{Sink: r.Sink, Doc: d, Err: same}
		}
	}
	return Refusal{Sink: r.Sink, Doc: d, Err: &why}
}

// reason is a kept refusal's error: its text, and still a refusal, for a
// conflict or not, to errors.Is.
type reason struct {
	text     string
	conflict bool
}

func (r *reason) Error() string { return r.text }

func (r *reason) Is(target error) bool {
	return target == sinks.ErrRefused || (r.conflict && target == sinks.ErrConflict)
}

// logged settles refusals by their log line and count alone (see
// Engine.refuse), where no one dead-letters them.
func logged(context.Context, []Refusal) error { return nil }

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
// every one stored or refused every doc (see Refusal; the refusals are
// logged and counted), or ctx ends.
func (e *Engine) WriteDocs(ctx context.Context, routes []Route, docs []sinks.Doc) error {
	refused, err := e.writeDocs(ctx, routes, docs)
	e.refuse(refused)
	return err
}

// writeDocs writes docs to the routes concurrently, counting the docs
// each store took, and returns the docs they refused, each once per store
// (see perStore), for the caller to log, count and hand on.
func (e *Engine) writeDocs(ctx context.Context, routes []Route, docs []sinks.Doc) ([]Refusal, error) {
	if len(routes) == 1 {
		refused, _, err := e.writeRoute(ctx, routes[0], docs, nil)
		return refused, err
	}
	once := oncePerStore(routes, len(docs))
	refused := make([][]Refusal, len(routes))
	at := make([][]int, len(routes))
	errs := make([]error, len(routes))
	var wg sync.WaitGroup
	for i, r := range routes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			refused[i], at[i], errs[i] = e.writeRoute(ctx, r, docs, once)
		}()
	}
	wg.Wait()
	return once.refusals(refused, at), errors.Join(errs...)
}

// writeRoute writes the route's docs, retrying what failed with capped
// exponential backoff until it is stored or ctx ends; the docs the store
// refuses as they are come back as refusals instead, for the caller to
// log and count (a doc written again after a conflict is counted once),
// each with the place in docs of the doc refused (at).
func (e *Engine) writeRoute(ctx context.Context, r Route, docs []sinks.Doc, once *perStore) (refused []Refusal, at []int, err error) {
	s := r.Sink
	todo, where := r.docsOf(docs)
	wait := 100 * time.Millisecond
	for len(todo) > 0 {
		start := time.Now()
		done := e.writing.begin(s.Name(), start, len(todo), e.log)
		err := s.Write(ctx, todo)
		done()
		e.metrics.sinkSeconds.WithLabelValues(s.Name()).Observe(time.Since(start).Seconds())
		if err == nil {
			e.countWritten(s.Name(), where, once)
			e.health.set(s.Name(), nil)
			return refused, at, nil
		}
		var be *sinks.BatchError
		if errors.As(err, &be) {
			failed := make([]sinks.Doc, 0, len(be.Failed))
			var failedAt, stored []int
			for i := range todo {
				why, bad := be.Failed[i]
				switch {
				case !bad:
					stored = append(stored, where[i])
				case errors.Is(why, sinks.ErrRefused):
					refused = append(refused, Refusal{Sink: s.Name(), Doc: todo[i], Err: why})
					at = append(at, where[i])
				default:
					failed = append(failed, todo[i])
					failedAt = append(failedAt, where[i])
				}
			}
			e.countWritten(s.Name(), stored, once)
			if todo, where = failed, failedAt; len(todo) == 0 {
				e.health.set(s.Name(), nil) // the store answers; it took all it could
				return refused, at, nil
			}
		}
		if ctx.Err() != nil {
			// Cut short by a stop, not failed: nothing is retried.
			return refused, at, fmt.Errorf("sink %s: %w", s.Name(), context.Cause(ctx))
		}
		e.metrics.sinkErrors.WithLabelValues(s.Name()).Inc()
		e.health.set(s.Name(), err)
		e.log.Warn("sink write failed; retrying", "sink", s.Name(), "docs", len(todo), "retry_in", wait, "err", err)
		select {
		case <-ctx.Done():
			return refused, at, fmt.Errorf("sink %s: %w (last error: %v)", s.Name(), ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(2*wait, e.backoff)
	}
	return refused, at, nil
}

// docsOf returns the route's docs among docs, and the place in docs of
// each, which names the doc across the routes of a write.
func (r Route) docsOf(docs []sinks.Doc) (todo []sinks.Doc, where []int) {
	todo, where = make([]sinks.Doc, 0, len(docs)), make([]int, 0, len(docs))
	for i, d := range docs {
		if slices.Contains(r.Views, d.View) {
			todo = append(todo, d)
			where = append(where, i)
		}
	}
	return todo, where
}

// countWritten counts in projector_docs_written_total the docs of a write
// that store took (at: their places in the write), once each per store.
func (e *Engine) countWritten(store string, at []int, once *perStore) {
	e.metrics.docsWritten.WithLabelValues(store).Add(float64(once.firstWritten(store, at)))
}

// perStore settles each doc of a write once per store, however many of
// its routes the doc went to. While a rebuild runs, a view's docs go to
// the served generation and to the next one: two routes of one store (of
// one name). A doc both took is one doc written to that store (the docs
// the view stored there, not the tables or indexes they went to), and a
// doc both refused, or either, one doc set aside: counted, logged and
// dead-lettered once. A write whose routes are each of another store
// needs none of it (nil).
type perStore struct {
	docs int
	mu   sync.Mutex
	// written are, by store, the docs of the write counted written.
	written map[string][]bool
}

// oncePerStore is the perStore of a write of n docs to routes, nil when
// no two of them are of the same store.
func oncePerStore(routes []Route, n int) *perStore {
	names := make(map[string]bool, len(routes))
	for _, r := range routes {
		if names[r.Sink.Name()] {
			return &perStore{docs: n, written: map[string][]bool{}}
		}
		names[r.Sink.Name()] = true
	}
	return nil
}

// firstWritten marks the docs at those places written to store, and says
// how many of them were not yet.
func (p *perStore) firstWritten(store string, at []int) int {
	if p == nil {
		return len(at)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	seen := p.written[store]
	if seen == nil {
		seen = make([]bool, p.docs)
		p.written[store] = seen
	}
	n := 0
	for _, i := range at {
		if !seen[i] {
			seen[i] = true
			n++
		}
	}
	return n
}

// refusals joins the routes' refusals (at: the place in the write of each
// refusal's doc), keeping a store's first refusal of a doc in the order
// of the routes, whatever order they ended in.
func (p *perStore) refusals(refused [][]Refusal, at [][]int) []Refusal {
	if p == nil {
		return slices.Concat(refused...)
	}
	type storeDoc struct {
		store string
		at    int
	}
	var out []Refusal
	seen := map[storeDoc]bool{}
	for i, rs := range refused {
		for j, r := range rs {
			k := storeDoc{r.Sink, at[i][j]}
			if !seen[k] {
				seen[k] = true
				out = append(out, r)
			}
		}
	}
	return out
}

// refuse logs and counts the docs stores refused.
func (e *Engine) refuse(refused []Refusal) {
	for _, r := range refused {
		e.metrics.docsRefused.WithLabelValues(r.Sink, r.Doc.View).Inc()
		e.log.Error("a store refused a doc as it is: set aside, the store keeps its previous version",
			"sink", r.Sink, "view", r.Doc.View, "doc", r.Doc.ID, "rev", r.Doc.Rev, "err", r.Err)
	}
}

// stuckWrite is how long a sink's write may take before it is reported:
// a batch of thousands of documents takes well under a second; one that
// waits this long is held (a lock on the view table, a store that accepts
// the connection and answers nothing), and so are its partitions.
const stuckWrite = 15 * time.Second

// writesInFlight are the sinks' writes under way, so that readiness says
// which store holds the batches up when a write neither fails nor ends.
type writesInFlight struct {
	mu     sync.Mutex
	next   int
	starts map[int]writeStart
}

type writeStart struct {
	sink string
	at   time.Time
}

// begin records a write to sink from at, and logs a warning if it is still
// under way after stuckWrite; done ends it.
func (w *writesInFlight) begin(sink string, at time.Time, docs int, log *slog.Logger) (done func()) {
	w.mu.Lock()
	if w.starts == nil {
		w.starts = map[int]writeStart{}
	}
	id := w.next
	w.next++
	w.starts[id] = writeStart{sink, at}
	w.mu.Unlock()
	warn := time.AfterFunc(stuckWrite, func() {
		log.Warn("a write to a store has been under way for long: it holds its batch and the partitions behind it "+
			"(a lock on the view's table? a store that takes requests and answers none?)", "sink", sink, "docs", docs, "for", stuckWrite)
	})
	return func() {
		warn.Stop()
		w.mu.Lock()
		delete(w.starts, id)
		w.mu.Unlock()
	}
}

// stuck says, by sink, how long its oldest write has been under way, when
// that is stuckWrite or more.
func (w *writesInFlight) stuck(now time.Time) map[string]time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out map[string]time.Duration
	for _, st := range w.starts {
		if d := now.Sub(st.at); d >= stuckWrite && d > out[st.sink] {
			if out == nil {
				out = map[string]time.Duration{}
			}
			out[st.sink] = d
		}
	}
	return out
}
