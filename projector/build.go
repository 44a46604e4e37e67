package projector

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks"
)

// builder recomputes the documents of one view from the state, in one
// transaction that holds their revision locks.
type builder struct {
	e     *Engine
	tx    stateTx
	view  *projections.View
	held  held   // what the transaction already holds
	tally *tally // counted once the transaction commits
	at    time.Time
}

// now is the instant now() gives every expression the builder evaluates,
// taken at its first: as PostgreSQL's now() is its transaction's, a where
// and a field of one document, and the documents of one computation, see
// one clock (each call read its own before).
func (b *builder) now() time.Time {
	if b.at.IsZero() {
		b.at = time.Now()
		if b.e.clock != nil {
			b.at = b.e.clock()
		}
	}
	return b.at
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
		if r, ok := b.held.rows.get(b.view.Root, k); ok {
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
		l := newLookupBy(joinedCols(j))
		for i, p := range j.On {
			for _, row := range rows {
				v, ok := row[p.Outer]
				if t, ok2 := text(v); ok && ok2 {
					l.add(i, t)
				}
			}
		}
		res := &joined{byTuple: map[string][]map[string]any{}}
		jd[f] = res
		if slices.ContainsFunc(l.by, func(c columnIn) bool { return len(c.vals) == 0 }) {
			continue
		}
		cols := joinedCols(j)
		var found []stateRow
		if j.Where == nil {
			var err error
			if found, err = b.tx.rowsByColumn(ctx, j.Source, l.by, nil, 0); err != nil {
				return nil, err
			}
		} else {
			// A page at a time, keeping the rows the where passes: those
			// the documents hold, where the rows it leaves out may be many
			// more (the closed orders of a user, beside the open ones).
			err := b.tx.eachRow(ctx, j.Source, l.by, nil, b.e.chunk, func(page []stateRow) error {
				for _, r := range page {
					if b.pass(j.Where, j.Source, r.Data) {
						found = append(found, r)
					}
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
		// In state key order, whatever order the store gave: rows that
		// order_by leaves tied, and the several rows a one-to-one join may
		// match, then come out the same in every store and every run.
		slices.SortFunc(found, func(a, b stateRow) int { return strings.Compare(a.Key, b.Key) })
		var children []map[string]any
		for _, r := range found {
			tv, ok := pick(r.Data, cols)
			if !ok {
				continue
			}
			t, _ := docID(tv)
			res.byTuple[t] = append(res.byTuple[t], r.Data)
			children = append(children, r.Data)
		}
		nested, err := b.load(ctx, children, j.Fields, j.Source)
		if err != nil {
			return nil, err
		}
		res.nested = nested
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
	kids := map[string][]map[string]any{} // the rows behind each array field's items
	all := map[string][]any{}             // each array field's items, past its limit too
	for i, f := range fields {
		switch f.Kind {
		case projections.KindColumn:
			out[f.Name] = row[f.Column]
			if f.Retyped && out[f.Name] != nil {
				out[f.Name] = b.retyped(f, src, out[f.Name])
			}
		case projections.KindExpr:
			out[f.Name] = b.field(f, src, row, fields[:i], out)
		case projections.KindOne:
			out[f.Name] = b.one(row, f, jd)
		case projections.KindMany:
			rows := b.children(row, f, jd)
			sortRows(rows, f.Join.OrderBy, f.Join.Source)
			items := make([]any, len(rows))
			for i, k := range rows {
				items[i] = b.build(k, f.Join.Fields, f.Join.Source, jd[f].nested)
			}
			// Aggregates over the array see every item (a count says how
			// many there are, of which the document shows the first few).
			all[f.Name], kids[f.Name] = items, rows
			if n := f.Join.Limit; n > 0 && len(items) > n {
				items = items[:n:n]
			}
			out[f.Name] = items
		case projections.KindAgg:
			out[f.Name] = b.aggregateItems(f, fields, all, kids)
		}
	}
	return out
}

// one is the object (or the column) a one-to-one join embeds in row: null
// when no joined row matches.
func (b *builder) one(row map[string]any, f *projections.Field, jd joinData) any {
	kids := b.children(row, f, jd)
	switch {
	case len(kids) == 0:
		return nil
	case f.Column != "":
		return kids[0][f.Column]
	}
	return b.build(kids[0], f.Join.Fields, f.Join.Source, jd[f].nested)
}

// aggregateItems computes an aggregate over a nested array built before it:
// over the items whose joined row passes the aggregate's where.
func (b *builder) aggregateItems(f *projections.Field, fields []*projections.Field, all map[string][]any, kids map[string][]map[string]any) any {
	items := all[f.Agg.Array]
	rows := kids[f.Agg.Array]
	var src *projections.Source
	for _, af := range fields {
		if af.Name == f.Agg.Array && af.Join != nil {
			src = af.Join.Source
		}
	}
	vals := make([]any, 0, len(items))
	for i, it := range items {
		if f.Agg.Where != nil && (i >= len(rows) || !b.pass(f.Agg.Where, src, rows[i])) {
			continue
		}
		m, _ := it.(map[string]any)
		if f.Agg.Column == "" {
			vals = append(vals, true)
		} else if v := m[f.Agg.Column]; v != nil {
			vals = append(vals, v)
		}
	}
	return b.aggregate(f, vals)
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

// pass evaluates a where expression over a row; no expression passes.
func (b *builder) pass(w *projections.Expr, src *projections.Source, row map[string]any) bool {
	if w == nil {
		return true
	}
	v, _ := b.eval(w, src, row, nil, nil)
	ok, _ := v.(bool)
	return ok
}

// field computes an expression field: its result as a column of the
// field's type holds it (exprResult). A result the type cannot hold (x / 0
// divides as floats; an integer or numeric out of range) is null and
// counted as an expression error: no sink can store it, and an aggregate
// over it must not fail the whole batch.
func (b *builder) field(f *projections.Field, src *projections.Source, row map[string]any, prior []*projections.Field, out map[string]any) any {
	v, ok := b.eval(f.Expr, src, row, prior, out)
	if !ok {
		return nil
	}
	if v, ok = exprResult(f.Type, v); !ok {
		b.tally.exprErrors++
		return nil
	}
	return v
}

// retyped holds a column's value to the type its field declares, as an
// expression's result is held (see field): what PostgreSQL's column of
// that type would hold, in every store. A value the type cannot hold is
// null, and counted.
func (b *builder) retyped(f *projections.Field, src *projections.Source, v any) any {
	var r any
	var ok bool
	if s, text := jsonText(v); text && !f.Type.Array && (f.Type.Name == "text" || f.Type.Name == "varchar") {
		// A text column takes the document's JSON value as its text (a
		// number's digits, "true"), as jsonb_to_recordset gives it.
		r, ok = textResult(f.Type, s)
	} else if _, composite := v.(map[string]any); composite || isSlice(v) && f.Type.Array {
		// An array type holds each element as its element type does
		// (text[] retyped bytea[]: base64 or refused), and no array of
		// any type holds an object.
		r, ok = compositeResult(f.Type, v)
	} else if composite || isSlice(v) {
		// No scalar column takes an object or array: PostgreSQL refuses it.
		r, ok = v, f.Type.Name == "json" || f.Type.Name == "jsonb"
	} else if s, digits := numericDigits(v); digits && numericTarget(f.Type) && numericColumn(src, f.Column) {
		// A numeric's digits, read as PostgreSQL casts its text: through
		// a float (ExprValue) 9007199254740993 would become ...992.
		r, ok = textResult(f.Type, s)
	} else {
		t, _ := src.ColumnType(f.Column)
		r, ok = exprResult(f.Type, projections.ExprValue(t, v))
	}
	if !ok {
		b.tally.exprErrors++
		return nil
	}
	return r
}

// numericTarget says whether a column of type t takes a numeric's value
// as a number.
func numericTarget(t config.Type) bool {
	switch t.Name {
	case "smallint", "integer", "bigint", "numeric", "real", "double precision":
		return !t.Array
	}
	return false
}

// numericColumn says whether col of src is declared numeric (not an array).
func numericColumn(src *projections.Source, col string) bool {
	t, _ := src.ColumnType(col)
	return t.Name == "numeric" && !t.Array
}

// numericDigits is the text of a numeric value as the state holds it (a
// JSON number, or a string for NaN or a number written so).
func numericDigits(v any) (string, bool) {
	switch n := v.(type) {
	case json.Number:
		return n.String(), true
	case string:
		return n, true
	}
	return "", false
}

func isSlice(v any) bool {
	_, ok := v.([]any)
	return ok
}

// jsonText is a state value as the text a text column takes of it: a
// string's content, a number's digits, a boolean's name, an object's or
// array's JSON as PostgreSQL's jsonb writes it.
func jsonText(v any) (string, bool) {
	switch x := v.(type) {
	case map[string]any, []any:
		b, err := json.Marshal(x)
		if err != nil {
			return "", false
		}
		s, err := jsonbText(b)
		return s, err == nil
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int:
		return strconv.Itoa(x), true
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), true
	}
	return "", false
}

// eval runs an expression over a row's columns and the fields computed so
// far (prior, with their values in out), each converted to what the
// compiler type-checked it as (projections.ExprValue), and the fields of
// a joined object or item by their own types (projections.FieldValue). A
// runtime error (integer overflow among them) yields false and is counted.
func (b *builder) eval(x *projections.Expr, src *projections.Source, row map[string]any, prior []*projections.Field, out map[string]any) (any, bool) {
	if x == nil {
		return nil, true
	}
	names, all := x.Reads()
	env := make(map[string]any, len(names)+1)
	if all {
		for col, v := range row {
			env[col] = exprColumn(src, col, v)
		}
		for col := range src.Columns {
			if _, ok := env[col]; !ok {
				env[col] = nil
			}
		}
	} else {
		// Only what it reads: a numeric column is parsed to a decimal, and
		// a declared column the row lacks is null (readsNull finds it).
		for _, col := range names {
			if v, ok := row[col]; ok {
				env[col] = exprColumn(src, col, v)
			} else if _, declared := src.Columns[col]; declared {
				env[col] = nil
			}
		}
	}
	for _, f := range prior {
		if !all && !slices.Contains(names, f.Name) {
			continue
		}
		if f.Join == nil || f.Column != "" {
			env[f.Name] = projections.ExprValue(f.Type, out[f.Name])
		} else {
			// A joined object or the items of a one-to-many join, field
			// by field, on a copy: the value itself goes to the sinks.
			env[f.Name] = projections.FieldValue(f, out[f.Name])
		}
	}
	projections.PinClock(env, b.now())
	v, err := x.Run(env)
	if err != nil {
		// An operation on a null column (note != "a", n > 3 with a typed
		// column null) fails in expr-lang on its nil operand ("<nil> >
		// int", "is nil, not string"): null, as in SQL, and not an error
		// worth counting. Any other failure counts, beside a null column
		// too ((n ?? 0) + int("abc")), and so does one of the
		// expression's own (an overflow) whatever its operands.
		nilOperand := readsNull(x, env) && strings.Contains(err.Error(), "nil")
		if errors.Is(err, projections.ErrIntegerOverflow) || errors.Is(err, projections.ErrTextBudget) || !nilOperand {
			b.tally.exprErrors++
		}
		return nil, false
	}
	return v, true
}

// exprColumn is a row's column value as expressions see it.
func exprColumn(src *projections.Source, col string, v any) any {
	t, _ := src.ColumnType(col)
	return projections.ExprValue(t, v)
}

// readsNull reports whether a name x reads is null in env.
func readsNull(x *projections.Expr, env map[string]any) bool {
	names, all := x.Reads()
	if all {
		return false
	}
	for _, n := range names {
		if v, ok := env[n]; ok && v == nil {
			return true
		}
	}
	return false
}

// groups builds the docs of an aggregation view: one per group key, over
// the live root rows of that group that pass where. It takes the groups
// the transaction brought up to date (updateGroups), else those kept and
// trusted (see groupAgg), else recomputes them from their rows.
func (b *builder) groups(ctx context.Context, ids map[string]map[string]any, revs map[string]int64) ([]sinks.Doc, error) {
	v := b.view
	groups := make(map[string]*groupAgg, len(ids))
	var missing []string
	for id := range ids {
		if g, ok := b.held.groups[v][id]; ok {
			groups[id] = g
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		var stored map[string]storedGroup
		if !b.held.fromRows {
			var err error
			if stored, err = b.tx.groupAggs(ctx, v.Name, missing, false); err != nil {
				return nil, err
			}
		}
		recompute := map[string]string{}
		for _, id := range missing {
			if g, ok := b.kept(stored, id); ok && g.sound() {
				groups[id] = g
			} else if t, ok := text(ids[id][v.ID[0]]); ok {
				recompute[id] = t
			}
		}
		if err := b.groupsFromRows(ctx, recompute, groups); err != nil {
			return nil, err
		}
	}
	// The rows a group's one: joins embed, looked up by the group's
	// columns (see projections.groupJoin).
	parents := make([]map[string]any, 0, len(groups))
	for _, g := range groups {
		if g != nil && g.Rows > 0 {
			parents = append(parents, g.Cols)
		}
	}
	jd, err := b.load(ctx, parents, v.Fields, v.Root)
	if err != nil {
		return nil, err
	}
	out := make([]sinks.Doc, 0, len(ids))
	for id, key := range ids {
		d := sinks.Doc{View: v.Name, ID: id, Key: key, Rev: revs[id]}
		g := groups[id]
		if g == nil || g.Rows <= 0 {
			d.Deleted = true
			out = append(out, d)
			continue
		}
		d.Fields = make(map[string]any, len(v.Fields))
		for i, f := range v.Fields {
			switch f.Kind {
			case projections.KindColumn:
				// Held to its type: as a row view's column field (build),
				// and apart from the group's id, made of the raw values.
				d.Fields[f.Name] = g.Cols[f.Column]
				if f.Retyped && d.Fields[f.Name] != nil {
					d.Fields[f.Name] = b.retyped(f, v.Root, d.Fields[f.Name])
				}
			case projections.KindAgg:
				r, ok := g.Fields[f.Name].result(f.Agg.Func, f.Type)
				if !ok {
					b.tally.exprErrors++
				}
				d.Fields[f.Name] = r
			case projections.KindExpr:
				// Over the group's columns and the fields before it.
				d.Fields[f.Name] = b.field(f, v.Root, g.Cols, v.Fields[:i], d.Fields)
			case projections.KindOne:
				d.Fields[f.Name] = b.one(g.Cols, f, jd)
			}
		}
		out = append(out, d)
	}
	return out, nil
}
