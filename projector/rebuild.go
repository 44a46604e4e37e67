package projector

import (
	"context"
	"fmt"
	"strings"

	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks"
)

// Hooks for rebuilding a view from the state: list its documents' ids in
// key order, recompute a chunk of them (new revisions, like any change),
// and write them where the caller says.

// DocIDs returns up to limit ids of the view's documents after the cursor
// `after` ("" starts at the beginning), in the state's key order, with
// their id values, and the cursor after the last one ("" when there are no
// more). For an aggregation view the ids are its group keys.
func (e *Engine) DocIDs(ctx context.Context, view string, after string, limit int) (map[string]map[string]any, string, error) {
	v := e.plan.View(view)
	if v == nil {
		return nil, "", fmt.Errorf("%w: view %q", ErrUnknownView, view)
	}
	from, started := cursorKey(after)
	if len(v.GroupBy) == 0 {
		rows, err := e.state.liveRows(ctx, v.Root, from, started, limit)
		if err != nil || len(rows) == 0 {
			return nil, "", err
		}
		a := affected{}
		for _, r := range rows {
			a.rootDoc(v, r.Data)
		}
		return a[v], cursorMark + rows[len(rows)-1].Key, nil
	}
	// Group keys: the distinct group values, in their text order (of each
	// value in turn, for several group_by columns).
	mark := cursorMark
	if len(v.IDColumns) > 1 {
		mark = tupleMark
		if !strings.HasPrefix(after, tupleMark) {
			// An earlier version's cursor, in the order of the keys'
			// JSON text: the listing starts again (recomputing a group
			// twice is harmless, skipping one is not).
			from, started = "", false
		} else {
			from = strings.TrimPrefix(after, tupleMark)
		}
	}
	rows, last, err := e.state.groups(ctx, v, from, started, limit)
	if err != nil || len(rows) == 0 {
		return nil, "", err
	}
	a := affected{}
	for _, row := range rows {
		a.rootDoc(v, row)
	}
	return a[v], mark + last, nil
}

// tupleMark starts the cursors of a view grouped by several columns,
// which point after a tuple of values (the JSON array of their texts).
const tupleMark = "\x02"

// cursorMark starts every cursor DocIDs returns, so that a document whose
// key is the empty string has a cursor too ("" is the start).
const cursorMark = "\x01"

// cursorKey is the key a cursor points after, and whether it points after
// one at all. A cursor without the mark (an earlier version's, recorded
// in a rebuild's progress) is the key itself.
func cursorKey(after string) (string, bool) {
	if after == "" {
		return "", false
	}
	return strings.TrimPrefix(after, cursorMark), true
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
// a new revision (so they win over anything written before). An
// aggregation's groups are computed from their rows, and the kept ones no
// longer trusted (see groupAgg): a rebuild repairs them too.
func (e *Engine) RecomputeDocs(ctx context.Context, view string, ids map[string]map[string]any) ([]sinks.Doc, error) {
	if e.plan.View(view) == nil {
		return nil, fmt.Errorf("%w: view %q", ErrUnknownView, view)
	}
	return e.computeIn(ctx, map[string]map[string]map[string]any{view: ids}, bump, held{fromRows: true}, counted)
}

// ComputeDocs computes the given docs of a view from the state, each with
// the revision it has now, assigning none: what a stored doc at that
// revision must hold (an aggregation's groups from their rows). While the state is read the docs' revisions are
// locked, so a write computed from newer state has a higher revision.
func (e *Engine) ComputeDocs(ctx context.Context, view string, ids map[string]map[string]any) ([]sinks.Doc, error) {
	if e.plan.View(view) == nil {
		return nil, fmt.Errorf("%w: view %q", ErrUnknownView, view)
	}
	return e.computeIn(ctx, map[string]map[string]map[string]any{view: ids}, peek, held{fromRows: true}, uncounted)
}

// Plan returns the compiled views the engine runs.
func (e *Engine) Plan() *projections.Plan { return e.plan }
