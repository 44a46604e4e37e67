package projector

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/projectorhq/projector/projections"
)

// groupAgg is what one group of an aggregation view holds: how many of its
// root rows pass the view's where, its group_by values and each aggregate's
// running state. It is kept between batches (projector.group_aggs), so that
// a batch changing a few rows of a group of a million takes their old
// values away and adds their new ones, instead of reading back every row
// of the group: an initial snapshot into a few huge groups is then linear,
// not quadratic.
//
// A kept group is trusted for groupVerifyAge only: past that, the next
// batch touching it recomputes it from its rows. Whatever put it out of
// step with its rows (an instance of a version that did not keep groups,
// writing the state during a rolling upgrade) is then repaired within
// that time.
type groupAgg struct {
	Rows   int                `json:"rows"`
	Cols   map[string]any     `json:"cols"`
	Fields map[string]*aggAcc `json:"fields"`
}

const groupVerifyAge = 10 * time.Minute

// groupKeeper is a view's groups kept by one definition (fingerprint),
// listed in projector.group_keepers while some instance keeps them. An
// instance that writes a source's state without keeping a group listed
// over it (its file lacks the view, or has another definition of it)
// deletes the listing and stops trusting those groups, in the transaction
// that writes: they are recomputed from their rows as batches touch them,
// and listed again. Instances of earlier versions, which know nothing of
// this, are the ones groupVerifyAge is for.
type groupKeeper struct{ view, fp string }

// keepers lists, by source name, the groups the engine keeps over it.
func keepers(plan *projections.Plan, fps map[*projections.View]string) map[string][]groupKeeper {
	out := map[string][]groupKeeper{}
	for _, src := range plan.Sources {
		out[src.Name] = []groupKeeper{}
	}
	for _, v := range plan.Views {
		if fp, ok := fps[v]; ok {
			out[v.Root.Name] = append(out[v.Root.Name], groupKeeper{view: v.Name, fp: fp})
		}
	}
	return out
}

// distrustOthers stops trusting, in tx, the groups kept by other
// definitions over the sources the batch changed (see groupKeeper).
func (e *Engine) distrustOthers(ctx context.Context, tx stateTx, perSource map[*projections.Source][]rowChange) error {
	var sources []string
	var mine []groupKeeper
	for src, changes := range perSource {
		if len(changes) > 0 {
			sources = append(sources, src.Name)
			mine = append(mine, e.keepers[src.Name]...)
		}
	}
	if len(sources) == 0 {
		return nil
	}
	return tx.distrustOthers(ctx, sources, mine)
}

// storedGroup is a group as projector.group_aggs holds it.
type storedGroup struct {
	fp     string
	agg    []byte
	recent bool // computed from its rows less than groupVerifyAge ago
}

// groupCache holds the groups a transaction holding the state lock
// brought up to date, by view and group id (nil: the group has no rows).
type groupCache map[*projections.View]map[string]*groupAgg

// groupOp is a root row entering (sign 1) or leaving (-1) a group.
type groupOp struct {
	row  map[string]any
	sign int
}

// groupOps lists, per aggregation view and group, in the order they were
// applied, the rows a batch moved in and out of its groups.
type groupOps map[*projections.View]map[string][]groupOp

// note records what the applied rows of src move in and out of the groups
// of the aggregation views it roots: a row's old values leave, its new ones
// enter.
func (o groupOps) note(e *Engine, src *projections.Source, rows []applied) {
	for _, r := range e.routes[src] {
		v := r.view
		if len(v.GroupBy) == 0 || len(r.path) > 0 {
			continue
		}
		for _, a := range rows {
			o.add(v, a.Old, -1)
			if !a.NewDeleted {
				o.add(v, a.New, 1)
			}
		}
	}
}

// forgetGroups forgets, in tx, the kept groups of the aggregation views
// src roots that the applied rows leave: a truncate's deletes, a chunk of
// them at a time. A group not kept is computed from its rows whenever a
// doc or a later batch needs it (see builder.groups and updateGroups),
// and after a truncate its rows are only those newer than it. Holding the
// groups instead, an op per group until the batch recomputes them, would
// hold one per row of a view grouped by a column about as unique as the
// key.
func (e *Engine) forgetGroups(ctx context.Context, tx stateTx, src *projections.Source, rows []applied) error {
	for _, r := range e.routes[src] {
		v := r.view
		if _, keeps := e.groupFP[v]; !keeps || len(r.path) > 0 {
			continue
		}
		ids := make([]string, 0, len(rows))
		for _, a := range rows {
			if id, ok := groupOf(v, a.Old); ok {
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 {
			continue
		}
		slices.Sort(ids)
		if err := tx.forgetGroups(ctx, v.Name, slices.Compact(ids)); err != nil {
			return err
		}
	}
	return nil
}

// groupOf is the id of the group row is in, if any: a row with a null
// group_by column is in none.
func groupOf(v *projections.View, row map[string]any) (string, bool) {
	if row == nil {
		return "", false
	}
	vals, ok := pick(row, v.IDColumns)
	if !ok {
		return "", false
	}
	return docID(vals)
}

func (o groupOps) add(v *projections.View, row map[string]any, sign int) {
	id, ok := groupOf(v, row)
	if !ok {
		return
	}
	if o[v] == nil {
		o[v] = map[string][]groupOp{}
	}
	o[v][id] = append(o[v][id], groupOp{row: row, sign: sign})
}

// keepsGroups reports whether a view's groups can be kept: an aggregation
// view none of whose wheres reads the clock (now()), which lets a row
// leave a group with no change to it, and no change to take away.
func keepsGroups(v *projections.View) bool {
	if len(v.GroupBy) == 0 || v.Where.ReadsClock() {
		return false
	}
	for _, f := range v.Fields {
		if f.Agg != nil && f.Agg.Where.ReadsClock() {
			return false
		}
	}
	return true
}

// groupFingerprint names what a view's kept groups were computed from: its
// root source (name, topic and the types of the columns cols it reads),
// where, group_by and aggregate fields. A group kept under another (the
// view's definition changed) is recomputed.
func groupFingerprint(v *projections.View, cols []string) string {
	h := sha256.New()
	src := func(x *projections.Expr) string {
		if x == nil {
			return ""
		}
		return x.Source
	}
	fmt.Fprintf(h, "groups/2\x00%s\x00%s\x00%s\x00%q\x00%q\n", v.Root.Name, v.Root.Topic, src(v.Where), v.GroupBy, v.IDColumns)
	if cols == nil { // undeclared columns: whole rows
		cols = slices.Sorted(maps.Keys(v.Root.Columns))
	}
	for _, c := range cols {
		t, _ := v.Root.ColumnType(c)
		fmt.Fprintf(h, "%s\x00%s\n", c, t.String())
	}
	for _, f := range v.Fields {
		if f.Kind == projections.KindExpr || f.Kind == projections.KindOne {
			continue // computed, or joined, when the group's doc is: not kept
		}
		fmt.Fprintf(h, "%s\x00%d\x00%s\x00%s", f.Name, f.Kind, f.Type.String(), f.Column)
		if f.Agg != nil {
			fmt.Fprintf(h, "\x00%d\x00%s\x00%s", f.Agg.Func, f.Agg.Column, src(f.Agg.Where))
		}
		fmt.Fprintln(h)
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// accumulate moves one root row in (sign 1) or out (-1) of g. An
// expression error counts when a row enters, not again when it leaves.
func (b *builder) accumulate(g *groupAgg, row map[string]any, sign int) {
	if sign < 0 {
		errs := b.tally.exprErrors
		defer func() { b.tally.exprErrors = errs }()
	}
	v := b.view
	if !b.pass(v.Where, v.Root, row) {
		return
	}
	if sign > 0 && g.Rows <= 0 {
		g.Cols = make(map[string]any, len(v.GroupBy))
		for _, c := range v.GroupBy {
			g.Cols[c] = row[c]
		}
	}
	g.Rows += sign
	for _, f := range v.Fields {
		if f.Kind != projections.KindAgg || !b.pass(f.Agg.Where, v.Root, row) {
			continue
		}
		var val any = true // a count of rows
		if f.Agg.Column != "" {
			if val = row[f.Agg.Column]; val == nil {
				continue
			}
		}
		g.Fields[f.Name].add(f.Agg.Func, f.Type, val, sign)
	}
}

// newGroup is an empty group of the builder's view.
func (b *builder) newGroup() *groupAgg {
	g := &groupAgg{Fields: map[string]*aggAcc{}}
	for _, f := range b.view.Fields {
		if f.Kind == projections.KindAgg {
			g.Fields[f.Name] = &aggAcc{}
		}
	}
	return g
}

// sound reports whether g can be trusted as it is: not a min or max whose
// extreme left, no count below zero (a group out of step with its rows).
func (g *groupAgg) sound() bool {
	if g.Rows < 0 {
		return false
	}
	for _, a := range g.Fields {
		if a.Stale || a.N < 0 {
			return false
		}
	}
	return true
}

// kept decodes a stored group, if it can be trusted: computed by the view's
// definition as it is now, and recomputed from its rows less than
// groupVerifyAge ago.
func (b *builder) kept(stored map[string]storedGroup, id string) (*groupAgg, bool) {
	s, ok := stored[id]
	if !ok || s.fp != b.e.groupFP[b.view] || !s.recent {
		return nil, false
	}
	g := b.newGroup()
	dec := json.NewDecoder(bytes.NewReader(s.agg))
	dec.UseNumber() // min and max keep their values' text
	if err := dec.Decode(g); err != nil {
		return nil, false // recomputed, and written again
	}
	for name := range g.Fields {
		if g.Fields[name] == nil {
			g.Fields[name] = &aggAcc{}
		}
	}
	return g, true
}

// groupLookup finds the rows of the groups ids (each with its first
// group_by value's text) by each of their group_by columns: a group of
// two columns is not all the rows sharing its first.
func groupLookup(v *projections.View, ids map[string]string) []columnIn {
	firsts := func() []columnIn {
		return []columnIn{{col: v.IDColumns[0], vals: slices.Compact(slices.Sorted(maps.Values(ids)))}}
	}
	if len(v.IDColumns) == 1 {
		return firsts()
	}
	l := newLookupBy(v.IDColumns)
	for id := range ids {
		var parts []string // a group's id is the docID of its values
		if json.Unmarshal([]byte(id), &parts) != nil || len(parts) != len(v.IDColumns) {
			return firsts() // not one: by the first column alone, a superset
		}
		for i, p := range parts {
			l.add(i, p)
		}
	}
	for i := range l.by {
		slices.Sort(l.by[i].vals)
	}
	return l.by
}

// groupsFromRows computes the groups ids (each with its first group_by
// value's text) from all their live root rows into groups; a group without
// rows is nil.
func (b *builder) groupsFromRows(ctx context.Context, ids map[string]string, groups map[string]*groupAgg) error {
	if len(ids) == 0 {
		return nil
	}
	v := b.view
	out := make(map[string]*groupAgg, len(ids))
	// A page at a time: a group may hold millions of rows, and its
	// aggregates need one at a time.
	err := b.tx.eachRow(ctx, v.Root, groupLookup(v, ids), b.e.groupCols[v], b.e.chunk, func(page []stateRow) error {
		for _, r := range page {
			vals, ok := pick(r.Data, v.IDColumns)
			if !ok {
				continue
			}
			id, _ := docID(vals)
			if _, want := ids[id]; !want {
				continue
			}
			g := out[id]
			if g == nil {
				g = b.newGroup()
				out[id] = g
			}
			b.accumulate(g, r.Data, 1)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for id := range ids {
		if g := out[id]; g != nil && g.Rows > 0 { // else no rows, or none passing where
			groups[id] = g
		} else {
			groups[id] = nil
		}
	}
	return nil
}

// updateGroups brings the groups ops touch up to date in tx, which holds
// the state lock (no other transaction changes their rows or them until it
// commits), and keeps them for the next batches: a kept group takes the
// ops; one not kept, or no longer trusted, is recomputed from its rows,
// which tx has already changed. It returns them for the docs tx computes.
func (e *Engine) updateGroups(ctx context.Context, tx stateTx, ops groupOps, t *tally) (groupCache, error) {
	cache := groupCache{}
	for _, v := range e.plan.Views {
		touched := ops[v]
		if _, keeps := e.groupFP[v]; len(touched) == 0 || !keeps {
			continue // a group not kept is computed from its rows (builder.groups)
		}
		ids := slices.Sorted(maps.Keys(touched))
		stored, err := tx.groupAggs(ctx, v.Name, ids, true)
		if err != nil {
			return nil, err
		}
		b := &builder{e: e, tx: tx, view: v, tally: t}
		groups := make(map[string]*groupAgg, len(ids))
		recompute := map[string]string{}
		for _, id := range ids {
			g, ok := b.kept(stored, id)
			if ok {
				errs := t.exprErrors
				for _, op := range touched[id] {
					b.accumulate(g, op.row, op.sign)
				}
				if ok = g.sound(); !ok {
					t.exprErrors = errs // the recompute counts them
				}
			}
			if !ok {
				recompute[id] = firstText(v, touched[id])
				continue
			}
			if g.Rows == 0 {
				g = nil
			}
			groups[id] = g
		}
		if err := b.groupsFromRows(ctx, recompute, groups); err != nil {
			return nil, err
		}
		if err := tx.saveGroupAggs(ctx, v.Root.Name, v.Name, e.groupFP[v], groups, recompute); err != nil {
			return nil, err
		}
		cache[v] = groups
	}
	return cache, nil
}

// firstText is the text of a group's first group_by value, from any of the
// rows that moved in or out of it.
func firstText(v *projections.View, ops []groupOp) string {
	s, _ := text(ops[0].row[v.IDColumns[0]])
	return s
}
