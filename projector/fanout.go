package projector

import (
	"context"
	"errors"

	"github.com/projectorhq/projector/projections"
)

// collect adds what the applied rows of src affect, following every route:
// for a joined source it walks the joins up to the root (climb), looking
// the outer rows up in the state (the fan-out), both from the row's old and
// new values so that a child whose foreign key moved leaves its old parent.
func (e *Engine) collect(ctx context.Context, tx stateTx, src *projections.Source, rows []applied, out affected, seen fresh, spilled *[]int64) error {
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
		if len(r.path) == 0 {
			for _, row := range level {
				out.rootDoc(r.view, row)
			}
			continue
		}
		if err := e.climb(ctx, tx, r, len(r.path)-1, level, false, out, seen, spilled); err != nil {
			return err
		}
	}
	return nil
}

// climb follows route r from level, rows of the source of its join k, up
// to the root (for a group_by view, to the groups of the rows its join
// embeds: groupsEmbedding). Between the levels it reads only the join columns; the root
// rows it reads whole and keeps in seen, as their docs are built next. A
// level of more than spillRows chunks of rows is read a chunk at a time
// through a cursor (paged), and the docs found from such a level, or from
// more root rows than that, are recorded pending a chunk at a time (spill),
// the pending rows' ids added to spilled: a change embedded in a million
// documents, directly or through a million middle rows, holds neither them
// nor their ids at once.
func (e *Engine) climb(ctx context.Context, tx stateTx, r route, k int, level []map[string]any, paged bool, out affected, seen fresh, spilled *[]int64) error {
	for ; k > 0 && len(level) > 0; k-- {
		j := r.path[k]
		outer := r.path[k-1].Source
		cols := union(outerCols(j), joinedCols(r.path[k-1]))
		next, err := e.outerRows(ctx, tx, outer, j, level, cols, nil)
		if errors.Is(err, errManyRows) {
			want, by := joinValues(j, level)
			return tx.eachRow(ctx, outer, by, cols, e.chunk, func(page []stateRow) error {
				return e.climb(ctx, tx, r, k-1, embedding(j, want, page), true, out, seen, spilled)
			})
		}
		if err != nil {
			return err
		}
		level = next
	}
	if len(level) == 0 {
		return nil
	}
	j := r.path[0]
	if len(r.view.GroupBy) > 0 {
		// The rows of the group's joined row: the groups of their values.
		if !paged {
			return e.groupsEmbedding(ctx, tx, r.view, j, level, out, spilled)
		}
		// A page of a level too big to hold: its groups are recorded
		// pending now, as spill records a row view's documents.
		found := affected{}
		if err := e.groupsEmbedding(ctx, tx, r.view, j, level, found, spilled); err != nil {
			return err
		}
		pending, err := e.insertPending(ctx, tx, found)
		*spilled = append(*spilled, pendingIDs(pending)...)
		return err
	}
	if !paged {
		roots, err := e.outerRows(ctx, tx, r.view.Root, j, level, nil, seen)
		if !errors.Is(err, errManyRows) {
			for _, row := range roots {
				out.rootDoc(r.view, row)
			}
			return err
		}
	}
	ids, err := e.spill(ctx, tx, r.view, j, level)
	*spilled = append(*spilled, ids...)
	return err
}

// outerRows finds the live rows of outer that embed any of rows through j,
// with the columns cols (nil: whole rows, which it keeps in seen), unless
// there are more than spillRows chunks of them: then it returns
// errManyRows.
func (e *Engine) outerRows(ctx context.Context, tx stateTx, outer *projections.Source, j *projections.Join, rows []map[string]any, cols []string, seen fresh) ([]map[string]any, error) {
	want, by := joinValues(j, rows)
	if len(want) == 0 {
		return nil, nil
	}
	found, err := tx.rowsByColumn(ctx, outer, by, cols, spillRows*e.chunk+1)
	if err != nil {
		return nil, err
	}
	if len(found) > spillRows*e.chunk {
		return nil, errManyRows
	}
	if cols == nil {
		for _, r := range found {
			seen.put(outer, r)
		}
	}
	return embedding(j, want, found), nil
}

// embedding keeps, of rows of the outer source of j, the data of those
// whose join values are among want.
func embedding(j *projections.Join, want map[string]bool, rows []stateRow) []map[string]any {
	outerCols := outerCols(j)
	out := make([]map[string]any, 0, len(rows))
	for _, r := range rows {
		vals, ok := pick(r.Data, outerCols)
		if !ok {
			continue
		}
		if t, ok := docID(vals); ok && want[t] {
			out = append(out, r.Data)
		}
	}
	return out
}

// joinValues gives the join values of rows through j (their docID), each
// once, and what looks up the outer rows holding them: each outer column
// with the texts of its joined column's values.
func joinValues(j *projections.Join, rows []map[string]any) (want map[string]bool, by []columnIn) {
	joinedCols := joinedCols(j)
	want = map[string]bool{}
	l := newLookupBy(outerCols(j))
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
		for i, v := range vals {
			f, _ := text(v)
			l.add(i, f)
		}
	}
	return want, l.by
}

// spill records pending the docs of v rooted at the live rows that embed
// any of rows through j, a chunk at a time (one pending row each), reading
// only the root rows' id and join columns, through a cursor: a change
// embedded in a million documents holds neither them nor their ids at
// once. It returns the ids of the pending rows, whose docs are computed
// and written after the batch's own (see Batch).
func (e *Engine) spill(ctx context.Context, tx stateTx, v *projections.View, j *projections.Join, rows []map[string]any) ([]int64, error) {
	want, by := joinValues(j, rows)
	var ids []int64
	err := tx.eachRow(ctx, v.Root, by, union(outerCols(j), v.IDColumns), e.chunk, func(page []stateRow) error {
		aff := affected{}
		for _, row := range embedding(j, want, page) {
			aff.rootDoc(v, row)
		}
		pending, err := e.insertPending(ctx, tx, aff)
		ids = append(ids, pendingIDs(pending)...)
		return err
	})
	return ids, err
}

// groupsEmbedding adds the groups of v that embed any of rows, rows of the
// source v joins through j on its group_by columns (see
// projections.groupJoin): those of the live root rows holding their join
// values, read a page at a time through the index on those columns, with
// only the group_by and join columns. A group without rows has no
// document to change.
//
// Joined on every group_by column, a joined row is in the one group of
// its values: one root row of each says whether the group has rows, and
// what its values are (a group of a million rows is not read), and the
// groups are no more than the joined rows. Joined on some of them, a
// joined row is in every group of its values, found by paging through
// their root rows as a row view's fan-out does; past spillRows chunks of
// groups they are recorded pending a chunk at a time (spilled), so that
// a user in a million (user, day) groups is not held at once.
func (e *Engine) groupsEmbedding(ctx context.Context, tx stateTx, v *projections.View, j *projections.Join, rows []map[string]any, out affected, spilled *[]int64) error {
	want, by := joinValues(j, rows)
	if len(want) == 0 {
		return nil
	}
	if outer := outerCols(j); isSubset(v.IDColumns, outer) {
		found, err := tx.firstRows(ctx, v.Root, outer, joinTuples(j, rows), v.IDColumns)
		for _, r := range found {
			out.rootDoc(v, r.Data)
		}
		return err
	}
	found := affected{}
	add := func(page []stateRow) error {
		for _, row := range embedding(j, want, page) {
			found.rootDoc(v, row)
		}
		if found.count() <= (spillRows-1)*e.chunk {
			return nil // room for another page's groups
		}
		pending, err := e.insertPending(ctx, tx, found)
		*spilled = append(*spilled, pendingIDs(pending)...)
		found = affected{}
		return err
	}
	var err error
	if order, k, ok := groupOrder(v, j); ok {
		// A row per group, through the index of the view's group_by
		// columns with j's first (the view's group index when they are
		// its first).
		err = tx.eachGroup(ctx, v.Root, order, orderedTuples(j, order[:k], rows), union(outerCols(j), v.IDColumns), e.chunk, add)
	} else {
		err = tx.eachRow(ctx, v.Root, by, union(outerCols(j), v.IDColumns), e.chunk, add)
	}
	for id, key := range found[v] {
		out.add(v, id, key)
	}
	return err
}

// orderedTuples are the join values of rows through j, in the order of
// the outer columns cols (all of j's).
func orderedTuples(j *projections.Join, cols []string, rows []map[string]any) [][]string {
	ordered := &projections.Join{On: make([]projections.Pair, len(cols))}
	for i, c := range cols {
		for _, p := range j.On {
			if p.Outer == c {
				ordered.On[i] = p
			}
		}
	}
	return joinTuples(ordered, rows)
}

// joinTuples are the texts of the join values of rows through j, in the
// order of its columns, each tuple once.
func joinTuples(j *projections.Join, rows []map[string]any) [][]string {
	seen := map[string]bool{}
	var out [][]string
	for _, row := range rows {
		vals, ok := pick(row, joinedCols(j))
		if !ok {
			continue
		}
		tuple := make([]string, len(vals))
		for i, v := range vals {
			if tuple[i], ok = text(v); !ok {
				break
			}
		}
		id, whole := docID(vals)
		if !ok || !whole || seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, tuple)
	}
	return out
}

// spillRows is how many chunks of rows a level of a fan-out holds at most
// before it is paged or spilled. Spilling costs a cursor, the pending rows
// written and read back, and the docs of several routes or levels that
// reach the same root computed once per route (spilled rows are not looked
// up among each other): spilling past one chunk made the shop benchmark,
// whose product fan-out passes a chunk in some batches, a fifth slower. So
// only a fan-out far beyond a batch's is spilled.
const spillRows = 4

// errManyRows says a change is embedded in more rows than spillRows chunks.
var errManyRows = errors.New("more rows than spillRows chunks")
