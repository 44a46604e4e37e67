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
	done, spilled, spilledDocs := 0, 0, 0
	if err := e.writeChunks(ctx, p.deferred, &done, logged); err != nil {
		return err
	}
	if err := e.writePending(ctx, p.spilled, &spilled, &spilledDocs, p.own, logged); err != nil {
		return err
	}
	if err := e.state.finish(ctx, p.pending, nil); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	return nil
}

// rowChange is one change to apply to a source's state.
type rowChange struct {
	Key       string         `json:"key"`
	Data      map[string]any `json:"data"`
	PosHi     int64          `json:"pos_hi"`
	PosLo     int64          `json:"pos_lo"`
	Deleted   bool           `json:"deleted"`
	Merge     bool           `json:"merge"` // keep the stored values of Unchanged (TOAST, see toast.go)
	Unchanged []string       `json:"unchanged,omitempty"`
	// Patch applies PatchSet and PatchUnset (dotted paths) to the stored
	// row instead of replacing it: a partial MongoDB update.
	Patch      bool           `json:"patch,omitempty"`
	PatchSet   map[string]any `json:"patch_set,omitempty"`
	PatchUnset []string       `json:"patch_unset,omitempty"`
	// PatchTruncate cuts arrays (dotted paths) to a length before the
	// patch: MongoDB's truncatedArrays ($pop, $push with $slice).
	PatchTruncate map[string]int64 `json:"patch_truncate,omitempty"`
	// Truncate marks a truncate of the whole table at the position: the
	// engine turns it into deletes of the rows older than it.
	Truncate bool `json:"-"`
	// rec is the record a patch came from, to dead-letter when the state
	// holds no row to patch (see applied.Unbased).
	rec *Record
}
