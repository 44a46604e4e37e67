package projector

import (
	"context"
	"slices"

	"github.com/projectorhq/projector/projections"
)

// route is how a change of one source reaches the documents of a view: the
// joins from the view's root down to the source (empty when the source is
// the root).
type route struct {
	view *projections.View
	path []*projections.Join
}

// routes lists, per source, every way its rows feed a view.
func routes(plan *projections.Plan) map[*projections.Source][]route {
	out := map[*projections.Source][]route{}
	for _, v := range plan.Views {
		out[v.Root] = append(out[v.Root], route{view: v})
		var walk func(fields []*projections.Field, path []*projections.Join)
		walk = func(fields []*projections.Field, path []*projections.Join) {
			for _, f := range fields {
				if f.Join == nil {
					continue
				}
				p := append(slices.Clone(path), f.Join)
				out[f.Join.Source] = append(out[f.Join.Source], route{view: v, path: p})
				walk(f.Join.Fields, p)
			}
		}
		if len(v.GroupBy) == 0 {
			walk(v.Fields, nil)
		}
	}
	return out
}

// affected collects the documents a batch of state changes touches:
// view → doc id → the doc's id values (what a delete still knows).
type affected map[*projections.View]map[string]map[string]any

func (a affected) add(v *projections.View, id string, key map[string]any) {
	if a[v] == nil {
		a[v] = map[string]map[string]any{}
	}
	if _, ok := a[v][id]; !ok {
		a[v][id] = key
	}
}

func (a affected) count() int {
	n := 0
	for _, ids := range a {
		n += len(ids)
	}
	return n
}

// rootDoc adds the document rooted at row (a root row of v), if the row
// carries the id columns.
func (a affected) rootDoc(v *projections.View, row map[string]any) {
	vals, ok := pick(row, v.IDColumns)
	if !ok {
		return
	}
	id, ok := docID(vals)
	if !ok {
		return
	}
	key := make(map[string]any, len(v.ID))
	for i, f := range v.ID {
		key[f] = vals[i]
	}
	a.add(v, id, key)
}

// collect adds what the applied rows of src affect, following every route:
// for a joined source it walks the joins up to the root, looking the outer
// rows up in the state (the fan-out), both from the row's old and new values
// so that a child whose foreign key moved leaves its old parent.
func (e *Engine) collect(ctx context.Context, tx stateTx, src *projections.Source, rows []applied, out affected) error {
	for _, r := range e.routes[src] {
		level := make([]map[string]any, 0, 2*len(rows))
		for _, a := range rows {
			if a.Old != nil {
				level = append(level, a.Old)
			}
			if a.New != nil {
				level = append(level, a.New)
			}
		}
		if len(r.view.GroupBy) > 0 {
			for _, row := range level {
				out.rootDoc(r.view, row)
			}
			continue
		}
		for k := len(r.path) - 1; k >= 0 && len(level) > 0; k-- {
			j := r.path[k]
			outer := r.view.Root
			if k > 0 {
				outer = r.path[k-1].Source
			}
			next, err := e.outerRows(ctx, tx, outer, j, level)
			if err != nil {
				return err
			}
			level = next
		}
		for _, row := range level {
			out.rootDoc(r.view, row)
		}
	}
	return nil
}

// outerRows finds the live rows of outer that embed any of rows through j.
func (e *Engine) outerRows(ctx context.Context, tx stateTx, outer *projections.Source, j *projections.Join, rows []map[string]any) ([]map[string]any, error) {
	joinedCols := make([]string, len(j.On))
	outerCols := make([]string, len(j.On))
	for i, p := range j.On {
		joinedCols[i], outerCols[i] = p.Joined, p.Outer
	}
	want := map[string]bool{}
	var first []string
	for _, row := range rows {
		vals, ok := pick(row, joinedCols)
		if !ok {
			continue
		}
		t, ok := docID(vals)
		if !ok || want[t] {
			continue
		}
		want[t] = true
		f, _ := text(vals[0])
		first = append(first, f)
	}
	if len(first) == 0 {
		return nil, nil
	}
	found, err := tx.rowsByColumn(ctx, outer, outerCols[0], first)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(found))
	for _, r := range found {
		vals, ok := pick(r.Data, outerCols)
		if !ok {
			continue
		}
		if t, ok := docID(vals); ok && want[t] {
			out = append(out, r.Data)
		}
	}
	return out, nil
}
