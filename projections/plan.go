// Package projections compiles the views declared in YAML into plans the
// engine runs: which source columns each view reads, how rows join, which
// expressions compute fields, and the typed columns each sink stores.
//
// Compile checks meaning (unknown sources and columns, join type mismatches,
// cycles, duplicate names, invalid expressions, a where that is not boolean,
// an expression whose result does not fit its type, sums of non-numbers, a
// group_by view's id that is not its group) and reports every problem with
// its file:line:col, through config.Errors: a problem inside an expression
// at its place in the expression's text.
package projections

import (
	"sync"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/projectorhq/projector/config"
)

// Plan is every compiled source and view of one configuration.
type Plan struct {
	Sources []*Source
	Views   []*View
}

// Source returns the source with that name, or nil.
func (p *Plan) Source(name string) *Source {
	for _, s := range p.Sources {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// View returns the view with that name, or nil.
func (p *Plan) View(name string) *View {
	for _, v := range p.Views {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// Source is one Debezium topic and the state projector keeps of it.
type Source struct {
	Name   string
	Topic  string
	Format string
	// Unwrapped are the prefixes of the members the SMT adds (config's).
	Unwrapped config.Unwrapped
	// Key lists the key columns; empty means "whatever the record key holds".
	Key []string
	// Columns are the declared columns (nil when none were declared: then the
	// whole row is kept and types are unknown).
	Columns map[string]config.Type
	// Order lists the declared columns in file order.
	Order []string
	// Kept lists the columns the state keeps (slim state): the key, and every
	// column some view reads. Empty means keep every column.
	Kept []string
	// Indexed lists the columns joins look rows up by: the state indexes them
	// (not a column the key finds, see KeyedBy).
	Indexed []string
	// IndexedTogether lists the columns indexed together in one index
	// entry: the group_by columns (two or more) of each view grouping the
	// source's rows, whose values must fit an entry together.
	IndexedTogether [][]string
}

// KeyedBy reports whether rows of the source are found by col through the
// state's primary key rather than an index of their own: col is the only
// key column, of a type whose text is the same in the key and in the row
// (integers, text, uuid; a MongoDB ObjectId declared as text).
func (s *Source) KeyedBy(col string) bool {
	if len(s.Key) != 1 || s.Key[0] != col {
		return false
	}
	t, ok := s.Columns[col]
	if !ok || t.Array {
		return false
	}
	switch t.Name {
	case "smallint", "integer", "bigint", "text", "varchar", "uuid":
		return true
	}
	return false
}

// ColumnType returns the declared type of a column and whether it is declared.
func (s *Source) ColumnType(col string) (config.Type, bool) {
	t, ok := s.Columns[col]
	return t, ok
}

// View is one compiled read model.
type View struct {
	Name string
	Root *Source
	// ID names the document fields that identify a doc, and IDColumns the
	// root columns (or group_by columns) they come from, in the same order.
	ID        []string
	IDColumns []string
	Where     *Expr
	// GroupBy is set for an aggregation view: one doc per distinct value of
	// these root columns.
	GroupBy []string
	Fields  []*Field
	Sinks   config.Sinks
	// Refresh, when positive, is how often every document is recomputed:
	// the view's expressions call now(), so a document can change with
	// no change to its rows.
	Refresh time.Duration
}

// ReadsClock reports whether any of the view's expressions calls now():
// its where, an expr field, a join's or an aggregate's where, at any depth.
func (v *View) ReadsClock() bool {
	return v.Where.ReadsClock() || fieldsReadClock(v.Fields)
}

func fieldsReadClock(fields []*Field) bool {
	for _, f := range fields {
		switch {
		case f.Expr.ReadsClock():
			return true
		case f.Agg != nil && f.Agg.Where.ReadsClock():
			return true
		case f.Join != nil && (f.Join.Where.ReadsClock() || fieldsReadClock(f.Join.Fields)):
			return true
		}
	}
	return false
}

// Columns returns the top-level fields with their SQL types, in order: the
// columns of the view's PostgreSQL table.
func (v *View) Columns() []Column {
	cols := make([]Column, 0, len(v.Fields))
	for _, f := range v.Fields {
		cols = append(cols, Column{Name: f.Name, Type: f.Type})
	}
	return cols
}

// Column is a named, typed field of a view document.
type Column struct {
	Name string
	Type config.Type
}

// Kind says how a field gets its value.
type Kind int

const (
	KindColumn Kind = iota + 1 // a column of the enclosing row
	KindExpr                   // an expression
	KindOne                    // a one-to-one join: an object (or one column of it)
	KindMany                   // a one-to-many join: an array of objects
	KindAgg                    // an aggregate over the group's rows or over a nested array
)

// Field is one compiled field of a document (or of a joined object).
type Field struct {
	Name   string
	Kind   Kind
	Type   config.Type
	Column string // KindColumn; KindOne with a single column
	// Retyped: a KindColumn field whose type: is not its column's, so its
	// value is held to Type as an expression's result is, the same in
	// every store (PostgreSQL would cast it; Redis and Elasticsearch
	// would not).
	Retyped bool
	Expr    *Expr // KindExpr
	Join    *Join // KindOne, KindMany
	Agg     *Agg  // KindAgg
}

// Join fetches the rows of another source that match the enclosing row.
type Join struct {
	Source *Source
	// On pairs a column of the joined source with a column of the enclosing
	// row; a joined row matches when every pair is equal.
	On      []Pair
	Where   *Expr
	OrderBy []Order
	// Limit, when positive, keeps a many array's first Limit items; the
	// aggregates over the array see every row.
	Limit  int
	Fields []*Field
	Many   bool
}

// Pair is one equality of a join: Joined (of the joined source) = Outer (of
// the enclosing row).
type Pair struct {
	Joined, Outer string
}

// Order is one sort key of a one-to-many join.
type Order struct {
	Column string
	Desc   bool
}

// AggFunc is an aggregate function.
type AggFunc int

const (
	AggCount AggFunc = iota + 1
	AggSum
	AggMin
	AggMax
	AggAvg
)

// Agg is an aggregate: over the rows of a group (Column of the root source),
// or over a nested array field of the same document (Array, and Column of
// its items; Column empty for count). Null values are skipped, as SQL's
// aggregates skip them: count with a Column counts the non-null ones.
type Agg struct {
	Func   AggFunc
	Column string
	Array  string
	// Where keeps only the rows it holds for: the group's root rows, or
	// the joined rows behind the array's items (over their source's
	// columns, not the items' fields). Nil keeps every row.
	Where *Expr
}

// Expr is a compiled expression with its source text.
type Expr struct {
	Source  string
	Program *vm.Program

	readsOnce sync.Once // Reads, found once
	reads     []string
	readsAll  bool
}
