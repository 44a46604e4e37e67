package projector

import (
	"context"
	"fmt"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/projections"
)

// ProcessChanges applies already decoded changes of one source as Process
// applies a batch of records: state, affected docs, sink writes. It lets
// `projector test` state changes briefly, without writing Debezium
// envelopes; watermarks do not move, as there are no offsets.
func (e *Engine) ProcessChanges(ctx context.Context, source string, changes []debezium.Change) error {
	src := e.plan.Source(source)
	if src == nil {
		return fmt.Errorf("%w: source %q", ErrBadRecord, source)
	}
	var rcs []rowChange
	for _, ch := range changes {
		rc, ok, err := toRowChange(src, ch)
		if err != nil {
			return err
		}
		if ok {
			rcs = append(rcs, rc)
		}
	}
	p, err := e.project(ctx, map[*projections.Source][]rowChange{src: rcs})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	if len(p.dead) > 0 {
		return p.dead[0].Err // a patch of nothing, which only a record carries
	}
	if _, err := e.write(ctx, p.docs); err != nil { // refusals are logged
		return err
	}
	done, spilled := 0, 0
	if _, err := e.writeChunks(ctx, p.deferred, &done); err != nil {
		return err
	}
	if _, err := e.writePending(ctx, p.spilled, &spilled, p.own); err != nil {
		return err
	}
	if err := e.state.finish(ctx, p.pending, nil); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	return nil
}
