package projector

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kgo"
)

// pipeline is the batches in flight past decoding: the one being applied
// to the state and the one being written.
type pipeline struct {
	projecting *projecting
	writing    *writing
}

// wake is what the pipeline waits for: the batch being written, unless it
// is written and a batch is being applied, then that one. A stage that is
// done already gives a closed channel, which ends the poll at once, so
// that the loop moves the applied batch on or allows a rebalance however
// the stages' ends fell between its checks.
func (p *pipeline) wake() <-chan struct{} {
	if p.projecting != nil && (p.writing == nil || closed(p.writing.done)) {
		return p.projecting.done
	}
	if p.writing != nil {
		return p.writing.done
	}
	return nil
}

// idle reports whether nothing is in flight, so that a rebalance may run.
func (p *pipeline) idle() bool {
	return p.projecting == nil && (p.writing == nil || closed(p.writing.done))
}

// wait waits until both stages are done. A batch applied but not written
// stays pending in the state: whoever gets its partitions next writes it.
func (p *pipeline) wait() error {
	var errs []error
	if p.projecting != nil {
		<-p.projecting.done
		errs = append(errs, p.projecting.err)
		p.projecting = nil
	}
	if p.writing != nil {
		<-p.writing.done
		errs = append(errs, p.writing.err)
		p.writing = nil
	}
	return errors.Join(errs...)
}

// promote moves the applied batch on to be written, once the batch ahead
// of it is written and committed. With block it waits for both; without,
// it moves the batch only if neither is still under way.
func (c *Consumer) promote(ctx context.Context, p *pipeline, block bool) error {
	pr := p.projecting
	if pr == nil {
		return nil
	}
	if !block && (!closed(pr.done) || (p.writing != nil && !closed(p.writing.done))) {
		return nil
	}
	<-pr.done
	p.projecting = nil
	if pr.err != nil {
		return pr.err
	}
	if w := p.writing; w != nil {
		<-w.done
		p.writing = nil
		if w.err != nil {
			return w.err
		}
	}
	p.writing = c.complete(ctx, pr.offsets, pr.batch)
	return nil
}

// decode decodes a polled batch, waiting out a schema registry outage
// until the consumer is stopped (stop is Run's poll context). Meanwhile the
// batch ahead goes on to be written: an outage holds up only the records
// that wait for it.
func (c *Consumer) decode(ctx, stop context.Context, p *pipeline, recs []*kgo.Record) (*Decoded, error) {
	in := make([]Record, len(recs))
	for i, r := range recs {
		in[i] = RecordOf(r)
	}
	var d *Decoded
	failed := false
	err := c.retry(stop, "decode batch", func(stop context.Context) error {
		if failed {
			if err := c.promote(ctx, p, true); err != nil {
				return err
			}
		}
		var err error
		d, err = c.eng.Decode(stop, in)
		failed = err != nil
		return err
	})
	return d, err
}

// projecting is a decoded batch being applied to the state.
type projecting struct {
	done    chan struct{}
	offsets offsets
	batch   *Batch
	err     error
}

// project applies a decoded batch to the state in the background, after
// recomputing pending docs if partitions were assigned since the last
// batch (nothing else is in flight then: a rebalance waits for a drain).
func (c *Consumer) project(ctx context.Context, o offsets, d *Decoded) *projecting {
	p := &projecting{done: make(chan struct{}), offsets: o}
	go func() {
		defer close(p.done)
		if c.recover.Swap(false) {
			if p.err = c.recoverPending(ctx); p.err != nil {
				return
			}
		}
		attempt := 0
		p.err = c.retry(ctx, "project batch", func(ctx context.Context) error {
			if attempt++; attempt > 1 {
				// A failed attempt may have left pending docs behind (state
				// written, sinks not): finish them before trying again.
				if err := c.recoverPending(ctx); err != nil {
					return err
				}
			}
			var err error
			p.batch, err = c.eng.Project(ctx, d)
			return err
		})
	}()
	return p
}

// recoverPending writes the docs crashed instances left pending (see
// Engine.Recover), retrying until it can, and dead-letters those a store
// refuses as a batch's are; with errors.tolerance none the first refusal
// stops the consumer instead, its doc still pending.
func (c *Consumer) recoverPending(ctx context.Context) error {
	return c.retry(ctx, "recover pending docs", func(ctx context.Context) error {
		return c.eng.RecoverRefusing(ctx, func(ctx context.Context, refused []Refusal) error {
			if c.opts.StopOnError {
				return toleranceNone(&Batch{Refused: refused})
			}
			return c.deadLetters(ctx, nil, refused)
		})
	})
}

// writing is an applied batch whose docs are being written.
type writing struct {
	done chan struct{}
	err  error
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// complete writes an applied batch's docs in the background, then sends
// its dead letters and commits its offsets: as soon as the batch is
// written, whatever the next one is waiting for. The partitions are still
// ours meanwhile: rebalances are allowed only once nothing is in flight.
func (c *Consumer) complete(ctx context.Context, o offsets, b *Batch) *writing {
	w := &writing{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		w.err = c.finish(ctx, o, b)
	}()
	return w
}

func (c *Consumer) finish(ctx context.Context, o offsets, b *Batch) error {
	// errors.tolerance: none stops before the batch's watermarks are saved:
	// no reader is told that a batch the consumer stopped on is in the
	// stores. It dead-letters nothing: the refusals stay in b.Refused.
	var stopped error
	stop := func(b *Batch) error {
		if c.opts.StopOnError {
			stopped = toleranceNone(b)
		}
		return stopped
	}
	// Refused docs are dead-lettered a chunk at a time, as each chunk is
	// written, rather than held whole until the batch is: a fan-out's
	// chunks would hold them all. A failure is retried with the batch,
	// which hands the same ones on before writing anything more.
	var handOn func(context.Context, []Refusal) error
	if !c.opts.StopOnError {
		handOn = func(ctx context.Context, refused []Refusal) error { return c.deadLetters(ctx, nil, refused) }
	}
	err := c.retry(ctx, "write batch", func(ctx context.Context) error {
		if err := c.eng.CompleteUnless(ctx, b, handOn, stop); err != nil && stopped == nil {
			return err
		}
		return nil
	})
	switch {
	case err != nil:
		return err
	case stopped != nil:
		return stopped
	}
	if dead := b.Dead; len(dead) > 0 {
		if err := c.retry(ctx, "write dead letters", func(ctx context.Context) error { return c.deadLetters(ctx, dead, nil) }); err != nil {
			return err
		}
	}
	last := make([]*kgo.Record, len(o))
	for i, p := range o {
		last[i] = p.last
		c.eng.metrics.consumed.WithLabelValues(p.last.Topic).Add(float64(p.records))
	}
	c.log.Debug("batch projected", "partitions", len(o), "dead_letters", len(b.Dead))
	c.commit(ctx, last)
	return nil
}
