package projector

import (
	"context"
	"fmt"
	"slices"
)

// DefaultChunkDocs is how many documents one transaction computes and one
// write holds unless Options.ChunkDocs says otherwise: the default batch
// size, so that a batch of changes to root rows fits in one.
const DefaultChunkDocs = 10000

// split parts the docs a batch affects into those its own transaction
// computes (at most e.chunk, those whose root row it holds first: it
// wrote them, so they cost no read) and those computed after it, e.chunk
// at a time (deferred). A change embedded in 100,000 documents then holds
// only a chunk of them, and the rows they are built from, in memory at
// once: every one of them is recorded pending first, so none is lost if
// the process stops in between.
func (e *Engine) split(pending []pendingDoc, seen fresh) (now, deferred []pendingDoc) {
	if len(pending) <= e.chunk {
		return pending, nil
	}
	now = make([]pendingDoc, 0, e.chunk)
	for _, p := range pending {
		v := e.plan.View(p.View)
		if _, ok := seen.get(v.Root, p.Doc); ok && len(v.GroupBy) == 0 && len(now) < e.chunk {
			now = append(now, p)
		} else {
			deferred = append(deferred, p)
		}
	}
	// Fill the first chunk with deferred ones when few rows were held.
	n := min(e.chunk-len(now), len(deferred))
	return append(now, deferred[:n]...), deferred[n:]
}

// writeChunks computes and writes the pending docs e.chunk at a time, each
// chunk in a transaction of its own (recompute) and then to every sink,
// starting after the first *done of them and counting in *done those
// written, so that a call again after an error (the state down) goes on
// where it stopped. Each chunk's refusals go to settle once it is written
// and counted in *done: held no longer than their chunk, and neither
// written nor counted again by a call again after settle failed. The docs
// stay pending: the caller forgets them once all are written.
func (e *Engine) writeChunks(ctx context.Context, pending []pendingDoc, done *int, settle func(context.Context, []Refusal) error) error {
	for *done < len(pending) {
		chunk := pending[*done:min(len(pending), *done+e.chunk)]
		docs, err := e.recompute(ctx, byView(chunk))
		if err != nil {
			return fmt.Errorf("%w: %w", ErrState, err)
		}
		// A chunk's refusals are counted (and settled) once it is
		// written, or a call again after an error would count them twice.
		refused, err := e.writeDocs(ctx, e.Routes(), docs)
		if err != nil {
			return err
		}
		e.refuse(refused)
		*done += len(chunk)
		if len(refused) > 0 {
			if err := settle(ctx, refused); err != nil {
				return err
			}
		}
	}
	return nil
}

// ownDocs are the docs a batch computes itself, by view and id.
type ownDocs map[[2]string]bool

func ownOf(pending []pendingDoc) ownDocs {
	own := make(ownDocs, len(pending))
	for _, p := range pending {
		own[[2]string{p.View, p.Doc}] = true
	}
	return own
}

// writePending computes and writes the docs of the pending rows ids (see
// spill), one row at a time, each a chunk at a time, starting after the
// first *done rows and the first *written docs of the next, and counting
// in them those written, but the batch's own docs: computed after all its
// changes were applied, they need not be computed again. Refusals go to
// settle a chunk at a time (see writeChunks): a call again after settle
// failed goes on after the chunk it settled. The rows stay pending: the
// caller forgets them once all are written.
func (e *Engine) writePending(ctx context.Context, ids []int64, done, written *int, own ownDocs, settle func(context.Context, []Refusal) error) error {
	for *done < len(ids) {
		if err := e.writeRow(ctx, ids[*done], written, own, settle); err != nil {
			return err
		}
		*done++
		*written = 0
	}
	return nil
}

// writeRow computes and writes the docs of the pending row id but own, a
// chunk at a time, after the first *done of them (see writeChunks).
func (e *Engine) writeRow(ctx context.Context, id int64, done *int, own ownDocs, settle func(context.Context, []Refusal) error) error {
	docs, err := e.state.pending(ctx, []int64{id})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	docs = slices.DeleteFunc(docs, func(d pendingDoc) bool { return own[[2]string{d.View, d.Doc}] })
	return e.writeChunks(ctx, docs, done, settle)
}

// Recover recomputes every pending doc: those a crashed instance recorded
// but never wrote. Call it at start and when partitions are assigned. It
// takes one pending row at a time (a batch's, or a chunk of a fan-out's),
// writes its docs a chunk at a time and forgets it. The docs a store
// refuses are counted and logged; see RecoverRefusing to keep them.
func (e *Engine) Recover(ctx context.Context) error {
	return e.RecoverRefusing(ctx, nil)
}

// RecoverRefusing is Recover handing the docs a store refused to refused
// (the consumer dead-letters them), a chunk at a time as each is written,
// before their pending row is forgotten: an error from refused leaves the
// row pending, and a call again hands them again.
func (e *Engine) RecoverRefusing(ctx context.Context, refused func(context.Context, []Refusal) error) error {
	ids, err := e.state.pendingBatchIDs(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	if len(ids) > 0 {
		e.log.Info("recomputing pending documents", "batches", len(ids))
	}
	for _, id := range ids {
		if err := e.recoverRow(ctx, id, refused); err != nil {
			return err
		}
	}
	return nil
}

// recovery is what Recover did of a pending row before it failed: the
// docs it wrote, the refusals of them it did not set aside in the state
// yet and those it did not hand on yet.
type recovery struct {
	done   int
	unkept []Refusal
	unsent []Refusal
}

// recoverRow writes the docs of one pending row a chunk at a time, sets
// aside and hands on each chunk's refusals as it is written and forgets
// the row (but for the docs of views this instance does not declare, left
// pending: see recoverDocs). A call again after an error goes on after
// the chunks written (e.recovered), which are neither written nor counted
// again, setting aside and handing on first what it did not. The row is
// the only record of its docs until then: it is forgotten only once the
// refusals for a conflict are in the state, to be tried again after later
// batches.
func (e *Engine) recoverRow(ctx context.Context, id int64, handOn func(context.Context, []Refusal) error) error {
	e.recoveredMu.Lock()
	r := e.recovered[id]
	e.recoveredMu.Unlock()
	settle := func(ctx context.Context) error {
		if len(r.unkept) > 0 {
			if err := e.setAside(ctx, r.unkept, nil); err != nil {
				return fmt.Errorf("%w: %w", ErrState, err)
			}
			r.unkept = nil
		}
		if handOn != nil && len(r.unsent) > 0 {
			if err := handOn(ctx, r.unsent); err != nil {
				return err
			}
		}
		r.unsent = nil // handed on (or only logged and counted): not again, whatever fails next
		return nil
	}
	err := settle(ctx)
	if err == nil {
		err = e.recoverDocs(ctx, id, &r.done, func(ctx context.Context, refused []Refusal) error {
			// Those for a unique value another doc holds are tried again
			// after later batches, as a batch's are.
			r.unkept = append(r.unkept, refused...)
			r.unsent = append(r.unsent, refused...)
			return settle(ctx)
		})
	}
	e.recoveredMu.Lock()
	defer e.recoveredMu.Unlock()
	if err != nil {
		e.recovered[id] = r
		return err
	}
	delete(e.recovered, id)
	return nil
}
