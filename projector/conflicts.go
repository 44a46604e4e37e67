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
// the other one may come in a later batch: after each batch these are
// computed afresh and written again, until a store takes them or a later
// change of their own does. They are kept in this instance's memory: after
// a restart, or when the freeing change comes on another instance's quiet
// partitions, the doc's next change writes it (README, Known limits).
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
// was tried after already (0 for a fresh refusal; nil: every refusal is
// fresh). It returns the docs given up: tried maxConflictTries times,
// pushed out by newer ones, or refused again for another reason.
func (c *conflicts) add(refused []Refusal, tries map[conflictKey]int) (gaveUp []conflictKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range refused {
		k := conflictKey{r.Doc.View, r.Doc.ID}
		if !errors.Is(r.Err, sinks.ErrConflict) || tries[k] >= maxConflictTries {
			if tries != nil {
				gaveUp = append(gaveUp, k)
			}
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
		gaveUp = append(gaveUp, c.order[0])
		delete(c.docs, c.order[0])
		c.order = c.order[1:]
	}
	return gaveUp
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
// A doc's refusal was logged, counted and dead-lettered when it was set
// aside: a retry refused again logs at debug only, and giving up on it
// once.
func (e *Engine) retryConflicts(ctx context.Context) {
	byView, tries := e.conflicts.take()
	if byView == nil {
		return
	}
	docs, err := e.recompute(ctx, byView)
	if err == nil {
		var refused []Refusal
		if refused, err = e.writeDocs(ctx, e.Routes(), docs); err == nil {
			for _, r := range refused {
				e.log.Debug("a doc set aside for a conflict is refused again", "sink", r.Sink, "view", r.Doc.View, "doc", r.Doc.ID, "err", r.Err)
			}
			e.gaveUp(e.conflicts.add(refused, tries), tries)
			return
		}
	}
	e.log.Warn("writing docs refused for a conflict again failed; trying after the next batch", "err", err)
	for view, ids := range byView {
		for id, key := range ids {
			e.gaveUp(e.conflicts.add([]Refusal{{Doc: sinks.Doc{View: view, ID: id, Key: key}, Err: sinks.ErrConflict}}, tries), tries)
		}
	}
}

// gaveUp logs, once each, the docs refused for a conflict that are no
// longer written again (their refusal was logged and dead-lettered when
// they were set aside).
func (e *Engine) gaveUp(keys []conflictKey, tries map[conflictKey]int) {
	for _, k := range keys {
		e.log.Warn("giving up writing again a doc refused for a conflict: the store keeps its previous version until the doc's next change",
			"view", k.view, "doc", k.id, "tries", tries[k])
	}
}
