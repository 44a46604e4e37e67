package projector

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/shopspring/decimal"

	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks"
)

// builder recomputes the documents of one view from the state, in one
// transaction that holds their revision locks.
type builder struct {
	e     *Engine
	tx    stateTx
	view  *projections.View
	fresh fresh // rows the transaction already holds
}

// joined is the rows one join field found, by the text of their join values,
// and what their own joins found.
type joined struct {
	byTuple map[string][]map[string]any
	nested  joinData
}

type joinData map[*projections.Field]*joined

// docs builds the docs with the given ids; a doc whose root row is missing,
// deleted or filtered out by where comes back Deleted.
func (b *builder) docs(ctx context.Context, ids map[string]map[string]any, revs map[string]int64) ([]sinks.Doc, error) {
	if len(b.view.GroupBy) > 0 {
		return b.groups(ctx, ids, revs)
	}
	keys := make([]string, 0, len(ids))
	for id := range ids {
		keys = append(keys, id)
	}
	rows, err := b.rootRows(ctx, keys)
	if err != nil {
		return nil, err
	}
	live := map[string]map[string]any{}
	var liveRows []map[string]any
	for _, r := range rows {
		if r.Deleted || !b.pass(b.view.Where, b.view.Root, r.Data) {
			continue
		}
		live[r.Key] = r.Data
		liveRows = append(liveRows, r.Data)
	}
	jd, err := b.load(ctx, liveRows, b.view.Fields, b.view.Root)
	if err != nil {
		return nil, err
	}
	out := make([]sinks.Doc, 0, len(ids))
	for _, id := range keys {
		d := sinks.Doc{View: b.view.Name, ID: id, Key: ids[id], Rev: revs[id]}
		if row, ok := live[id]; ok {
			d.Fields = b.build(row, b.view.Fields, b.view.Root, jd)
		} else {
			d.Deleted = true
		}
		out = append(out, d)
	}
	return out, nil
}

// rootRows gives the root rows with the given keys, deleted ones included:
// those the transaction holds, and the others read from the state.
func (b *builder) rootRows(ctx context.Context, keys []string) ([]stateRow, error) {
	rows := make([]stateRow, 0, len(keys))
	var missing []string
	for _, k := range keys {
		if r, ok := b.fresh.get(b.view.Root, k); ok {
			rows = append(rows, r)
		} else {
			missing = append(missing, k)
		}
	}
	if len(missing) == 0 {
		return rows, nil
	}
	more, err := b.tx.rowsByKey(ctx, b.view.Root, missing)
	return append(rows, more...), err
}

// load fetches, for every join among fields, the rows matching any of rows,
// recursively: one state query per join and level, whatever the batch size.
func (b *builder) load(ctx context.Context, rows []map[string]any, fields []*projections.Field, src *projections.Source) (joinData, error) {
	jd := joinData{}
	for _, f := range fields {
		if f.Join == nil || len(rows) == 0 {
			continue
		}
		j := f.Join
		seen := map[string]bool{}
		var vals []string
		for _, row := range rows {
			v, ok := row[j.On[0].Outer]
			if t, ok2 := text(v); ok && ok2 && !seen[t] {
				seen[t] = true
				vals = append(vals, t)
			}
		}
		res := &joined{byTuple: map[string][]map[string]any{}}
		jd[f] = res
		if len(vals) == 0 {
			continue
		}
		found, err := b.tx.rowsByColumn(ctx, j.Source, j.On[0].Joined, vals, nil)
		if err != nil {
			return nil, err
		}
		cols := joinedCols(j)
		var children []map[string]any
		for _, r := range found {
			tv, ok := pick(r.Data, cols)
			if !ok || !b.pass(j.Where, j.Source, r.Data) {
				continue
			}
			t, _ := docID(tv)
			res.byTuple[t] = append(res.byTuple[t], r.Data)
			children = append(children, r.Data)
		}
		if res.nested, err = b.load(ctx, children, j.Fields, j.Source); err != nil {
			return nil, err
		}
	}
	return jd, nil
}

func joinedCols(j *projections.Join) []string {
	cols := make([]string, len(j.On))
	for i, p := range j.On {
		cols[i] = p.Joined
	}
	return cols
}

func outerCols(j *projections.Join) []string {
	cols := make([]string, len(j.On))
	for i, p := range j.On {
		cols[i] = p.Outer
	}
	return cols
}

// build computes the fields of one row.
func (b *builder) build(row map[string]any, fields []*projections.Field, src *projections.Source, jd joinData) map[string]any {
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		switch f.Kind {
		case projections.KindColumn:
			out[f.Name] = row[f.Column]
		case projections.KindExpr:
			out[f.Name] = b.eval(f.Expr, src, row, out)
		case projections.KindOne:
			out[f.Name] = nil
			if kids := b.children(row, f, jd); len(kids) > 0 {
				if f.Column != "" {
					out[f.Name] = kids[0][f.Column]
				} else {
					out[f.Name] = b.build(kids[0], f.Join.Fields, f.Join.Source, jd[f].nested)
				}
			}
		case projections.KindMany:
			kids := b.children(row, f, jd)
			sortRows(kids, f.Join.OrderBy)
			items := make([]any, len(kids))
			for i, k := range kids {
				items[i] = b.build(k, f.Join.Fields, f.Join.Source, jd[f].nested)
			}
			out[f.Name] = items
		case projections.KindAgg:
			items, _ := out[f.Agg.Array].([]any)
			vals := make([]any, 0, len(items))
			for _, it := range items {
				m, _ := it.(map[string]any)
				if f.Agg.Column == "" {
					vals = append(vals, true)
				} else if v := m[f.Agg.Column]; v != nil {
					vals = append(vals, v)
				}
			}
			out[f.Name] = aggregate(f.Agg.Func, vals, len(items))
		}
	}
	return out
}

func (b *builder) children(row map[string]any, f *projections.Field, jd joinData) []map[string]any {
	res := jd[f]
	if res == nil {
		return nil
	}
	vals, ok := pick(row, outerCols(f.Join))
	if !ok {
		return nil
	}
	t, _ := docID(vals)
	return append([]map[string]any(nil), res.byTuple[t]...)
}

// sortRows orders joined rows by the join's order_by columns; numbers
// compare as numbers, everything else as text.
func sortRows(rows []map[string]any, order []projections.Order) {
	sort.SliceStable(rows, func(i, j int) bool {
		for _, o := range order {
			c := compareValues(rows[i][o.Column], rows[j][o.Column])
			if c == 0 {
				continue
			}
			if o.Desc {
				return c > 0
			}
			return c < 0
		}
		return false
	})
}

func compareValues(a, b any) int {
	if a == nil || b == nil {
		switch {
		case a == nil && b == nil:
			return 0
		case a == nil:
			return -1
		}
		return 1
	}
	da, errA := toDecimal(a)
	db, errB := toDecimal(b)
	if errA == nil && errB == nil {
		return da.Cmp(db)
	}
	ta, _ := text(a)
	tb, _ := text(b)
	return strings.Compare(ta, tb)
}

func toDecimal(v any) (decimal.Decimal, error) {
	switch x := v.(type) {
	case json.Number:
		return decimal.NewFromString(x.String())
	case string:
		return decimal.NewFromString(x)
	case int64:
		return decimal.NewFromInt(x), nil
	case float64:
		return decimal.NewFromFloat(x), nil
	}
	return decimal.Decimal{}, fmt.Errorf("not a number: %T", v)
}

// aggregate computes fn over vals (the non-null values; n counts the rows).
// Sums and averages are exact decimals, rendered as JSON numbers.
func aggregate(fn projections.AggFunc, vals []any, n int) any {
	switch fn {
	case projections.AggCount:
		return json.Number(fmt.Sprint(n))
	case projections.AggSum, projections.AggAvg:
		sum := decimal.Zero
		cnt := 0
		for _, v := range vals {
			d, err := toDecimal(v)
			if err != nil {
				continue
			}
			sum = sum.Add(d)
			cnt++
		}
		if fn == projections.AggSum {
			return json.Number(sum.String())
		}
		if cnt == 0 {
			return nil
		}
		return json.Number(sum.DivRound(decimal.NewFromInt(int64(cnt)), 16).String())
	case projections.AggMin, projections.AggMax:
		var best any
		for _, v := range vals {
			c := compareValues(v, best)
			if best == nil || (fn == projections.AggMin && c < 0) || (fn == projections.AggMax && c > 0) {
				best = v
			}
		}
		return best
	}
	return nil
}

// pass evaluates a where expression over a row; no expression passes.
func (b *builder) pass(w *projections.Expr, src *projections.Source, row map[string]any) bool {
	if w == nil {
		return true
	}
	v := b.eval(w, src, row, nil)
	ok, _ := v.(bool)
	return ok
}

// eval runs an expression over a row's columns and the fields computed so
// far; a runtime error yields null and is counted.
func (b *builder) eval(x *projections.Expr, src *projections.Source, row map[string]any, prior map[string]any) any {
	if x == nil {
		return nil
	}
	env := make(map[string]any, len(row)+len(prior))
	for col, v := range row {
		t, _ := src.ColumnType(col)
		env[col] = projections.ExprValue(t, v)
	}
	for col, t := range src.Columns {
		if _, ok := env[col]; !ok {
			_ = t
			env[col] = nil
		}
	}
	for k, v := range prior {
		env[k] = v
	}
	v, err := expr.Run(x.Program, env)
	if err != nil {
		b.e.metrics.exprErrors.Inc()
		return nil
	}
	if t, ok := v.(time.Time); ok {
		return t.UTC().Format(time.RFC3339Nano)
	}
	return v
}

// groups builds the docs of an aggregation view: one per group key, over
// the live root rows of that group that pass where.
func (b *builder) groups(ctx context.Context, ids map[string]map[string]any, revs map[string]int64) ([]sinks.Doc, error) {
	v := b.view
	var first []string
	for _, key := range ids {
		if t, ok := text(key[v.ID[0]]); ok {
			first = append(first, t)
		}
	}
	rows, err := b.tx.rowsByColumn(ctx, v.Root, v.IDColumns[0], first, nil)
	if err != nil {
		return nil, err
	}
	members := map[string][]map[string]any{}
	for _, r := range rows {
		vals, ok := pick(r.Data, v.IDColumns)
		if !ok || !b.pass(v.Where, v.Root, r.Data) {
			continue
		}
		id, _ := docID(vals)
		if _, want := ids[id]; want {
			members[id] = append(members[id], r.Data)
		}
	}
	out := make([]sinks.Doc, 0, len(ids))
	for id, key := range ids {
		d := sinks.Doc{View: v.Name, ID: id, Key: key, Rev: revs[id]}
		rows := members[id]
		if len(rows) == 0 {
			d.Deleted = true
			out = append(out, d)
			continue
		}
		d.Fields = make(map[string]any, len(v.Fields))
		for _, f := range v.Fields {
			switch f.Kind {
			case projections.KindColumn:
				d.Fields[f.Name] = rows[0][f.Column]
			case projections.KindAgg:
				vals := make([]any, 0, len(rows))
				for _, r := range rows {
					if f.Agg.Column == "" {
						vals = append(vals, true)
					} else if x := r[f.Agg.Column]; x != nil {
						vals = append(vals, x)
					}
				}
				d.Fields[f.Name] = aggregate(f.Agg.Func, vals, len(rows))
			}
		}
		out = append(out, d)
	}
	return out, nil
}
