package projector

import (
	"context"
	"fmt"

	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks"
)

// Hooks for rebuilding a view from the state: list its documents' ids in
// key order, recompute a chunk of them (new revisions, like any change),
// and write them where the caller says.

// DocIDs returns up to limit ids of the view's documents after the id
// `after` (in the state's key order; "" starts at the beginning), with their
// id values, and the last id returned ("" when there are no more). For an
// aggregation view the ids are its group keys.
func (e *Engine) DocIDs(ctx context.Context, view string, after string, limit int) (map[string]map[string]any, string, error) {
	v := e.plan.View(view)
	if v == nil {
		return nil, "", fmt.Errorf("%w: view %q", ErrUnknownView, view)
	}
	out := map[string]map[string]any{}
	last := ""
	if len(v.GroupBy) == 0 {
		rows, err := e.state.liveRows(ctx, v.Root, after, limit)
		if err != nil {
			return nil, "", err
		}
		a := affected{}
		for _, r := range rows {
			a.rootDoc(v, r.Data)
			last = r.Key
		}
		return a[v], last, nil
	}
	// Group keys: the distinct group values, in their text order.
	rows, last, err := e.state.groups(ctx, v, after, limit)
	if err != nil {
		return nil, "", err
	}
	a := affected{}
	for _, row := range rows {
		a.rootDoc(v, row)
	}
	for id, k := range a[v] {
		out[id] = k
	}
	return out, last, nil
}

// groupExpr is the SQL text of a group key as docID renders it: the text of
// one column, or a JSON array of the texts of several.
func groupExpr(v *projections.View) string {
	if len(v.IDColumns) == 1 {
		return "data->>" + quoteLiteral(v.IDColumns[0])
	}
	parts := ""
	for i, c := range v.IDColumns {
		if i > 0 {
			parts += ", "
		}
		parts += "data->>" + quoteLiteral(c)
	}
	return "jsonb_build_array(" + parts + ")::text"
}

// RecomputeDocs computes the given docs of a view from the state, each with
// a new revision (so they win over anything written before).
func (e *Engine) RecomputeDocs(ctx context.Context, view string, ids map[string]map[string]any) ([]sinks.Doc, error) {
	if e.plan.View(view) == nil {
		return nil, fmt.Errorf("%w: view %q", ErrUnknownView, view)
	}
	return e.recompute(ctx, map[string]map[string]map[string]any{view: ids})
}

// ComputeDocs computes the given docs of a view from the state, each with
// the revision it has now, assigning none: what a stored doc at that
// revision must hold. While the state is read the docs' revisions are
// locked, so a write computed from newer state has a higher revision.
func (e *Engine) ComputeDocs(ctx context.Context, view string, ids map[string]map[string]any) ([]sinks.Doc, error) {
	if e.plan.View(view) == nil {
		return nil, fmt.Errorf("%w: view %q", ErrUnknownView, view)
	}
	return e.computeIn(ctx, map[string]map[string]map[string]any{view: ids}, peek)
}

// Plan returns the compiled views the engine runs.
func (e *Engine) Plan() *projections.Plan { return e.plan }
