package projector

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
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

// storedGroup is a group as projector.group_aggs holds it.
type storedGroup struct {
	fp       string
	agg      []byte
	verified time.Time
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

func (o groupOps) add(v *projections.View, row map[string]any, sign int) {
	if row == nil {
		return
	}
	vals, ok := pick(row, v.IDColumns)
	if !ok {
		return // a null group_by column: in no group
	}
	id, ok := docID(vals)
	if !ok {
		return
	}
	if o[v] == nil {
		o[v] = map[string][]groupOp{}
	}
	o[v][id] = append(o[v][id], groupOp{row: row, sign: sign})
}

// groupFingerprint names what a view's kept groups were computed by: its
// where, group_by and aggregate fields. A group kept under another (the
// view's definition changed) is recomputed.
func groupFingerprint(v *projections.View) string {
	h := sha256.New()
	src := func(x *projections.Expr) string {
		if x == nil {
			return ""
		}
		return x.Source
	}
	fmt.Fprintf(h, "groups/1\x00%s\x00%q\x00%q\n", src(v.Where), v.GroupBy, v.IDColumns)
	for _, f := range v.Fields {
		fmt.Fprintf(h, "%s\x00%d\x00%s\x00%s", f.Name, f.Kind, f.Type.String(), f.Column)
		if f.Agg != nil {
			fmt.Fprintf(h, "\x00%d\x00%s\x00%s", f.Agg.Func, f.Agg.Column, src(f.Agg.Where))
		}
		fmt.Fprintln(h)
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// accumulate moves one root row in (sign 1) or out (-1) of g.
func (b *builder) accumulate(g *groupAgg, row map[string]any, sign int) {
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
func (b *builder) kept(s storedGroup, ok bool) (*groupAgg, bool) {
	if !ok || s.fp != b.e.groupFP[b.view] || time.Since(s.verified) > groupVerifyAge {
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

// groupsFromRows computes the groups ids (each with its first group_by
// value's text in first) from all their live root rows; a group without
// rows is nil.
func (b *builder) groupsFromRows(ctx context.Context, ids map[string]string) (map[string]*groupAgg, error) {
	v := b.view
	first := slices.Compact(slices.Sorted(func(yield func(string) bool) {
		for _, f := range ids {
			if !yield(f) {
				return
			}
		}
	}))
	rows, err := b.tx.rowsByColumn(ctx, v.Root, v.IDColumns[0], first, b.e.groupCols[v], 0)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*groupAgg, len(ids))
	for _, r := range rows {
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
	for id, g := range out {
		if g.Rows == 0 {
			delete(out, id) // rows, but none passing where
		}
	}
	return out, nil
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
		if len(touched) == 0 {
			continue
		}
		ids := slices.Sorted(func(yield func(string) bool) {
			for id := range touched {
				if !yield(id) {
					return
				}
			}
		})
		stored, err := tx.groupAggs(ctx, v.Name, ids, true)
		if err != nil {
			return nil, err
		}
		b := &builder{e: e, tx: tx, view: v, tally: t}
		groups := make(map[string]*groupAgg, len(ids))
		recompute := map[string]string{}
		for _, id := range ids {
			s, ok := stored[id]
			g, ok := b.kept(s, ok)
			if ok {
				for _, op := range touched[id] {
					b.accumulate(g, op.row, op.sign)
				}
				ok = g.sound()
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
		fresh, err := b.groupsFromRows(ctx, recompute)
		if err != nil {
			return nil, err
		}
		for id := range recompute {
			groups[id] = fresh[id]
		}
		if err := tx.saveGroupAggs(ctx, v.Name, e.groupFP[v], groups, recompute); err != nil {
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
