package projector

import (
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
		walk(v.Fields, nil)
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

// shapes works out, per source, what apply returns of the rows it changed:
// the columns that find the affected docs (id columns for the docs the
// source roots, join columns for the docs that embed it), the columns an
// aggregation view it roots reads (groupCols: a batch moves the old and new
// rows out of and into their groups), and the whole new row where the
// source roots a view built row by row, so that the builder takes it
// instead of reading it back.
func shapes(plan *projections.Plan, rts map[*projections.Source][]route, groupCols map[*projections.View][]string) map[*projections.Source]rowShape {
	out := map[*projections.Source]rowShape{}
	for _, src := range plan.Sources {
		cols := []string{}
		whole, grouped, wholeOld := false, false, false
		for _, r := range rts[src] {
			if len(r.path) > 0 {
				cols = append(cols, joinedCols(r.path[len(r.path)-1])...)
				continue
			}
			cols = append(cols, r.view.IDColumns...)
			if len(r.view.GroupBy) == 0 {
				whole = true
				continue
			}
			grouped = true
			gc, ok := groupCols[r.view]
			wholeOld = wholeOld || !ok // undeclared columns: it reads whole rows
			cols = append(cols, gc...)
		}
		slices.Sort(cols)
		cols = slices.Compact(cols)
		shape := rowShape{Old: cols, New: cols, SkipOld: !grouped && isSubset(cols, src.Key)}
		if whole || wholeOld {
			shape.New = nil
		}
		if wholeOld {
			shape.Old = nil
		}
		out[src] = shape
	}
	return out
}

// isSubset reports whether every one of cols is in set.
func isSubset(cols, set []string) bool {
	for _, c := range cols {
		if !slices.Contains(set, c) {
			return false
		}
	}
	return true
}

// fresh holds whole state rows a transaction holding the state lock wrote
// or read, by source and key: no other instance can change them before it
// commits, so the builder takes them instead of reading them again. A nil
// fresh holds nothing.
type fresh map[*projections.Source]map[string]stateRow

func (f fresh) put(src *projections.Source, r stateRow) {
	if f == nil {
		return
	}
	if f[src] == nil {
		f[src] = map[string]stateRow{}
	}
	f[src][r.Key] = r
}

func (f fresh) get(src *projections.Source, key string) (stateRow, bool) {
	r, ok := f[src][key]
	return r, ok
}

// applied keeps the rows apply wrote when it returned them whole, and
// forgets those it did not, which are no longer what it holds.
func (f fresh) applied(src *projections.Source, rows []applied, whole bool) {
	if f == nil {
		return
	}
	for _, a := range rows {
		if whole {
			f.put(src, stateRow{Key: a.Key, Data: a.New, Deleted: a.NewDeleted})
		} else {
			delete(f[src], a.Key)
		}
	}
}

// union is the columns of a and b, sorted, each once.
func union(a, b []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(slices.Concat(a, b))))
}
