package projector

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/projectorhq/projector/sinks"
)

// Process applies one batch: decode, apply to state, recompute the
// affected docs, write them to every sink. It returns once every sink
// acknowledged every doc (retrying failures with backoff until ctx ends), so
// the caller may then commit the batch's offsets. Records that cannot be
// decoded come back as dead letters.
func (e *Engine) Process(ctx context.Context, recs []Record) ([]DeadLetter, error) {
	b, err := e.Prepare(ctx, recs)
	if err != nil {
		return nil, err
	}
	if err := e.Complete(ctx, b); err != nil {
		return nil, err
	}
	return b.Dead, nil
}

// Batch is a batch of records whose changes are committed to the state,
// with its docs computed and recorded pending: what is left is to write the
// docs (Complete). Dead are its records that could not be decoded; Refused,
// once Complete returned, its docs a store refused, each as a batch keeps
// it past its chunk (see Refusal.kept): which doc, which store, and why,
// not the doc's fields, which went to the caller's handOn as their chunk
// was written (see CompleteUnless).
type Batch struct {
	Dead    []DeadLetter
	Refused []Refusal
	start   time.Time
	docs    []sinks.Doc
	pending []int64 // ids of the pending rows
	marks   []*mark
	written bool // every sink took or refused the docs: a retry of Complete need not write them again
	// deferred are the docs Project left to compute (see split), and
	// spilled the pending rows of fan-outs it recorded without holding
	// their docs (see spill); the first done and spilledDone of them are
	// written, and the first spilledDocs docs of the next spilled row.
	deferred    []pendingDoc
	done        int
	spilled     []int64
	spilledDone int
	spilledDocs int
	own         ownDocs
	// unsent are the refusals, whole, of the chunk written last that
	// handOn did not take yet (it failed): a retry of Complete hands them
	// on before it writes anything more.
	unsent []Refusal
}

// Prepare is the first half of Process: it decodes recs, applies them to
// the state and computes the docs they affect. The next batch's Prepare may
// run while this one's Complete writes its docs: the docs are rev-guarded in
// every sink, so their writes need not be ordered, and the state work of
// one batch overlaps the sink writes of the other.
//
// Prepare is Decode then Project: a consumer may run the two apart, to
// decode the next batch while this one is applied.
func (e *Engine) Prepare(ctx context.Context, recs []Record) (*Batch, error) {
	d, err := e.Decode(ctx, recs)
	if err != nil {
		return nil, err
	}
	return e.Project(ctx, d)
}

// Project is the second half of Prepare: it applies a decoded batch to the
// state and computes the docs it affects. After an error it may be called
// again with the same batch (once Recover has finished what the failed
// attempt left pending).
func (e *Engine) Project(ctx context.Context, d *Decoded) (*Batch, error) {
	p, err := e.project(ctx, d.perSource)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrState, err)
	}
	return &Batch{Dead: slices.Concat(d.Dead, p.dead), start: d.start, docs: p.docs, deferred: p.deferred, spilled: p.spilled, own: p.own, pending: p.pending, marks: d.marks.list()}, nil
}

// Complete writes the batch's docs to every sink, retrying failures with
// backoff until ctx ends (those Project left to compute after it a chunk at
// a time: see split and spill), then forgets its pending docs and saves its
// watermarks. Once it returns nil the batch's offsets may be committed. It
// may be called again after an error: the writes are idempotent.
func (e *Engine) Complete(ctx context.Context, b *Batch) error {
	return e.CompleteUnless(ctx, b, nil, nil)
}

// CompleteUnless is Complete handing on, when handOn is set, the docs a
// store refuses, whole, a chunk at a time as each chunk is written (the
// consumer dead-letters them), so that a fan-out's refusals are not all
// held until its last chunk; b.Refused keeps only which docs they were.
// An error from handOn stops there, and a call again hands the same
// refusals on before it writes anything more. Once the docs are written
// (b.Refused set), stop, when it returns an error, stops there, returning
// it: the batch's watermarks are not saved and its pending docs stay, so
// no reader is told the batch is in the stores (errors.tolerance: none
// stopping on a dead letter or a refused doc).
func (e *Engine) CompleteUnless(ctx context.Context, b *Batch, handOn func(context.Context, []Refusal) error, stop func(*Batch) error) error {
	settle := func(ctx context.Context, refused []Refusal) error {
		for _, r := range refused {
			var last *Refusal
			if n := len(b.Refused); n > 0 {
				last = &b.Refused[n-1]
			}
			b.Refused = append(b.Refused, r.kept(last))
		}
		if b.unsent == nil {
			b.unsent = refused // the caller's, written: not copied
		} else {
			b.unsent = append(b.unsent, refused...)
		}
		return b.handOn(ctx, handOn)
	}
	if err := b.handOn(ctx, handOn); err != nil {
		return err
	}
	if !b.written {
		// Once written, a retry (the state failed after) neither writes
		// again nor counts and dead-letters the refusals twice.
		refused, err := e.writeDocs(ctx, e.Routes(), b.docs)
		if err != nil {
			return err // counted when written
		}
		e.refuse(refused)
		b.written = true
		b.docs = nil // written: not held while the deferred ones are
		if err := settle(ctx, refused); err != nil {
			return err
		}
	}
	if err := e.writeChunks(ctx, b.deferred, &b.done, settle); err != nil {
		return err
	}
	if err := e.writePending(ctx, b.spilled, &b.spilledDone, &b.spilledDocs, b.own, settle); err != nil {
		return err
	}
	if stop != nil {
		if err := stop(b); err != nil {
			return err
		}
	}
	// The documents refused for a conflict are kept in the state before
	// the pending rows that would recompute them are forgotten (and after
	// the earlier ones are tried again, not to retry these at once).
	e.retryConflicts(ctx)
	if err := e.setAside(ctx, b.Refused, nil); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	if err := e.state.finish(ctx, b.pending, b.marks); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	e.metrics.batchSeconds.Observe(time.Since(b.start).Seconds())
	return nil
}

// handOn hands the refusals not handed on yet to handOn, and lets them go
// once it took them (at once without a handOn: b.Refused keeps what the
// batch needs of them).
func (b *Batch) handOn(ctx context.Context, handOn func(context.Context, []Refusal) error) error {
	if len(b.unsent) == 0 {
		return nil
	}
	if handOn != nil {
		if err := handOn(ctx, b.unsent); err != nil {
			return err
		}
	}
	b.unsent = nil
	return nil
}
