package projector

import (
	"context"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/projections"
)

// truncateState applies the truncates among changes of src and returns the
// other changes, less those older than the newest truncate (cut, or one of
// changes), which are dropped whenever they arrive: Debezium sends a
// truncate without a key, so it may reach the projector before or after
// changes of other partitions that preceded it. older is how many were.
//
// Only the rows of the state older than the newest truncate are deleted:
// every change the batch keeps is at least as new, so it is applied after
// them whatever its place in the batch, as the position guard would have
// it anyway.
func (e *Engine) truncateState(ctx context.Context, tx stateTx, src *projections.Source, changes []rowChange, cut debezium.Position, seen fresh, spilled *[]int64, n *sourceTally) (_ []rowChange, older int, _ error) {
	var truncates []debezium.Position
	for _, c := range changes {
		if c.Truncate {
			p := debezium.Position{Hi: c.PosHi, Lo: c.PosLo}
			truncates = append(truncates, p)
			if p.Compare(cut) > 0 {
				cut = p
			}
		}
	}
	if len(truncates) == 0 && cut == (debezium.Position{}) {
		return changes, 0, nil
	}
	out := make([]rowChange, 0, len(changes))
	for _, c := range changes {
		switch {
		case c.Truncate:
		case (debezium.Position{Hi: c.PosHi, Lo: c.PosLo}).Compare(cut) < 0:
			older++
		default:
			out = append(out, c)
		}
	}
	if len(truncates) == 0 {
		return out, older, nil
	}
	for _, p := range truncates {
		if err := tx.truncate(ctx, src, p); err != nil {
			return nil, 0, err
		}
	}
	deleted, err := e.deleteBefore(ctx, tx, src, cut, seen, spilled, n)
	if err != nil {
		return nil, 0, err
	}
	e.log.Info("truncate", "source", src.Name, "rows", deleted, "position", cut.String())
	return out, older, nil
}

// deleteBefore deletes at pos, a chunk of rows at a time, the live rows of
// src older than pos: a truncate of millions of rows holds one chunk of
// them at once. The docs the deletes affect are recorded pending a chunk
// at a time and written after the batch's own (see spill), and the kept
// groups they leave forgotten a chunk at a time (see forgetGroups).
func (e *Engine) deleteBefore(ctx context.Context, tx stateTx, src *projections.Source, pos debezium.Position, seen fresh, spilled *[]int64, n *sourceTally) (int, error) {
	shape := e.shapes[src]
	total := 0
	var after *string
	for {
		rows, err := tx.liveBefore(ctx, src, pos, after, e.chunk)
		if err != nil || len(rows) == 0 {
			return total, err
		}
		deletes := make([]rowChange, len(rows))
		for i, r := range rows {
			deletes[i] = rowChange{Key: r.Key, Data: keyColumns(src, r.Data), PosHi: pos.Hi, PosLo: pos.Lo, Deleted: true}
		}
		done, err := tx.apply(ctx, src, deletes, shape)
		if err != nil {
			return total, err
		}
		n.applied += len(done)
		n.stale += len(deletes) - len(done)
		total += len(done)
		seen.applied(src, done, false) // forgets any it held: deleted now
		if err := e.forgetGroups(ctx, tx, src, done); err != nil {
			return total, err
		}
		aff := affected{}
		// A nil fresh: the root rows found are not held, their docs are
		// computed after the batch.
		if err := e.collect(ctx, tx, src, done, aff, nil, spilled); err != nil {
			return total, err
		}
		pending, err := e.insertPending(ctx, tx, aff)
		if err != nil {
			return total, err
		}
		*spilled = append(*spilled, pendingIDs(pending)...)
		last := rows[len(rows)-1].Key
		after = &last
	}
}

// keyColumns is the part of a row a tombstone keeps: its key columns (the
// whole row when the source does not name them).
func keyColumns(src *projections.Source, row map[string]any) map[string]any {
	if len(src.Key) == 0 {
		return row
	}
	out := make(map[string]any, len(src.Key))
	for _, k := range src.Key {
		if v, ok := row[k]; ok {
			out[k] = v
		}
	}
	return out
}
