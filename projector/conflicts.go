package projector

import (
	"context"
	"errors"
	"sync"
	"time"

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
// the other one may come in a later batch, or on another instance's
// partitions: after each batch these are computed afresh and written
// again, until a store takes them or a later change of their own does.
// They are kept in memory and in the state (conflictstore.go), where any
// instance's next batch takes them: the one that set a doc aside may have
// no batch for long, or have stopped.
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
// fresh). It returns the docs kept, and those given up: tried
// maxConflictTries times, pushed out by newer ones, or refused again for
// another reason.
func (c *conflicts) add(refused []Refusal, tries map[conflictKey]int) (kept []conflictRow, gaveUp []conflictKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	once := map[conflictKey]bool{} // a doc two stores refuse is kept once
	for _, r := range refused {
		k := conflictKey{r.Doc.View, r.Doc.ID}
		if !errors.Is(r.Err, sinks.ErrConflict) || tries[k] >= maxConflictTries {
			if tries != nil {
				gaveUp = append(gaveUp, k)
			}
			continue
		}
		if once[k] {
			continue
		}
		once[k] = true
		if c.docs == nil {
			c.docs = map[conflictKey]*conflict{}
		}
		if _, ok := c.docs[k]; !ok {
			c.order = append(c.order, k)
		}
		c.docs[k] = &conflict{key: r.Doc.Key, tries: tries[k]}
		kept = append(kept, conflictRow{View: k.view, Doc: k.id, Key: r.Doc.Key, Tries: tries[k]})
	}
	for len(c.order) > maxConflicts {
		gaveUp = append(gaveUp, c.order[0])
		delete(c.docs, c.order[0])
		c.order = c.order[1:]
	}
	return kept, gaveUp
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

// setAside keeps the refusals for a conflict (see add), in this instance's
// memory and in the state, where any instance's next batch finds them.
// What the state could not record is left to this instance's memory, lost
// if it stops: the error (logged) is returned, for a caller that holds
// another record of the docs (a pending row) to keep it.
func (e *Engine) setAside(ctx context.Context, refused []Refusal, tries map[conflictKey]int) error {
	return e.settleConflicts(ctx, refused, tries, nil)
}

// settleConflicts sets the refusals aside (see setAside) and forgets the
// rows held, taken from the state by a retry, that were not refused again
// for a conflict: written, or given up on.
func (e *Engine) settleConflicts(ctx context.Context, refused []Refusal, tries map[conflictKey]int, held []conflictRow) error {
	rows, gaveUp := e.conflicts.add(refused, tries)
	e.gaveUp(gaveUp, tries)
	kept := make(map[conflictKey]bool, len(rows))
	for _, r := range rows {
		kept[conflictKey{r.View, r.Doc}] = true
	}
	for _, h := range held {
		if !kept[conflictKey{h.View, h.Doc}] {
			h.Done = true
			rows = append(rows, h)
		}
	}
	if err := e.state.saveConflicts(ctx, rows); err != nil {
		e.log.Warn("could not record docs set aside for a conflict in the state: only this instance tries them again", "err", err)
		return err
	}
	return nil
}

// takeConflicts is conflicts.take with the docs any instance set aside in
// the state (up to maxTakenConflicts) of the views this instance declares,
// held by it until settleConflicts forgets or keeps them (held); a doc in
// both is tried once. The others are left to an instance that declares
// their view: this one would compute nothing of them, and forget them as
// written.
func (e *Engine) takeConflicts(ctx context.Context) (byView map[string]map[string]map[string]any, tries map[conflictKey]int, held []conflictRow) {
	byView, tries = e.conflicts.take()
	held, err := e.state.takeConflicts(ctx, e.declaredViews(), maxTakenConflicts)
	if err != nil {
		e.log.Warn("could not take the docs set aside for a conflict from the state; trying this instance's", "err", err)
	}
	for _, r := range held {
		if byView == nil {
			byView, tries = map[string]map[string]map[string]any{}, map[conflictKey]int{}
		}
		if byView[r.View] == nil {
			byView[r.View] = map[string]map[string]any{}
		}
		byView[r.View][r.Doc] = r.Key
		k := conflictKey{r.View, r.Doc}
		tries[k] = max(tries[k], r.Tries+1)
	}
	return byView, tries, held
}

// retryConflicts computes the conflicting docs afresh (a new revision, from
// the state as it is now) and writes them; those refused again are kept
// for the next batch, and the others forgotten. A failure keeps them all:
// they are tried again then, by any instance, for they are let go of at
// once, even when ctx ended (a stop); were they not (a crash), another
// instance takes them once this one's hold lapses. A doc's refusal was
// logged, counted and dead-lettered when it was set aside: a retry refused
// again logs at debug only, and giving up on it once.
func (e *Engine) retryConflicts(ctx context.Context) {
	byView, tries, held := e.takeConflicts(ctx)
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
			_ = e.settleConflicts(ctx, refused, tries, held) // logged; held, they are taken again when the hold lapses
			return
		}
	}
	e.log.Warn("writing docs refused for a conflict again failed; trying after the next batch", "err", err)
	var again []Refusal
	for view, ids := range byView {
		for id, key := range ids {
			again = append(again, Refusal{Doc: sinks.Doc{View: view, ID: id, Key: key}, Err: sinks.ErrConflict})
		}
	}
	release, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = e.settleConflicts(release, again, tries, held) // logged; held, they are taken again when the hold lapses
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
