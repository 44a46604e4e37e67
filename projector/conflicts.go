package projector

import (
	"context"
	"errors"
	"sync"

	"github.com/projectorhq/projector/sinks"
)

// maxConflicts bounds the docs kept for another try, and maxConflictTries
// how many batches each is tried after: past them a doc is let go (its
// refusal is in the dead-letter topic already), so a conflict that lasts
// (two docs holding one unique value for good) is not retried forever.
const (
	maxConflicts     = 10_000
	maxConflictTries = 50
)

// conflicts are docs a store refused for another document it holds (a
// unique value not given up yet, sinks.ErrConflict). The change that moves
// the other one may come in a later batch, or on another member's
// partition: after each batch these are computed afresh and written again,
// until a store takes them or a later change of their own does. They are
// kept in memory: after a restart, the doc's next change writes it.
type conflicts struct {
	mu    sync.Mutex
	docs  map[conflictKey]*conflict
	order []conflictKey // oldest first
}

type conflict struct {
	key   map[string]any // the doc's key
	tries int
}

type conflictKey struct{ view, id string }

// add keeps the refusals for a conflict; tries counts the batches a doc
// was tried after already (0 for a fresh refusal).
func (c *conflicts) add(refused []Refusal, tries map[conflictKey]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range refused {
		k := conflictKey{r.Doc.View, r.Doc.ID}
		if !errors.Is(r.Err, sinks.ErrConflict) || tries[k] >= maxConflictTries {
			continue
		}
		if c.docs == nil {
			c.docs = map[conflictKey]*conflict{}
		}
		if _, ok := c.docs[k]; !ok {
			c.order = append(c.order, k)
		}
		c.docs[k] = &conflict{key: r.Doc.Key, tries: tries[k]}
	}
	for len(c.order) > maxConflicts {
		delete(c.docs, c.order[0])
		c.order = c.order[1:]
	}
}

// take returns the docs to try again, by view, with the tries they will
// have had, and forgets them.
func (c *conflicts) take() (map[string]map[string]map[string]any, map[conflictKey]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.docs) == 0 {
		return nil, nil
	}
	out, tries := map[string]map[string]map[string]any{}, map[conflictKey]int{}
	for k, d := range c.docs {
		if out[k.view] == nil {
			out[k.view] = map[string]map[string]any{}
		}
		out[k.view][k.id] = d.key
		tries[k] = d.tries + 1
	}
	c.docs, c.order = nil, nil
	return out, tries
}

// retryConflicts computes the conflicting docs afresh (a new revision, from
// the state as it is now) and writes them; those refused again are kept
// for the next batch. A failure keeps them all: it is tried again then.
func (e *Engine) retryConflicts(ctx context.Context) {
	byView, tries := e.conflicts.take()
	if byView == nil {
		return
	}
	docs, err := e.recompute(ctx, byView)
	if err == nil {
		var refused []Refusal
		if refused, err = e.write(ctx, docs); err == nil {
			e.conflicts.add(refused, tries)
			return
		}
	}
	e.log.Warn("writing docs refused for a conflict again failed; trying after the next batch", "err", err)
	for view, ids := range byView {
		for id, key := range ids {
			e.conflicts.add([]Refusal{{Doc: sinks.Doc{View: view, ID: id, Key: key}, Err: sinks.ErrConflict}}, tries)
		}
	}
}
