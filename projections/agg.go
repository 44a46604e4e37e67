package projections

import (
	"slices"
	"strings"

	"github.com/projectorhq/projector/config"
)

// agg compiles an aggregate field: over a nested array declared before it
// (of: items, items.quantity), or over the rows of the group.
func (c *compiler) agg(sc scope, name string, f *config.Field, prior []*Field, grouped bool) *Field {
	path := sc.path + "." + name
	fn := map[string]AggFunc{"count": AggCount, "sum": AggSum, "min": AggMin, "max": AggMax, "avg": AggAvg}[f.Agg]
	if fn == 0 {
		return nil // reported by config.Load
	}
	ofPos := c.cfg.ValuePos(&f.Of, f.Pos)
	// of as the messages name it: the parts of one from the environment
	// are not shown (config/doc.go), the whole value is described.
	of, ofEnv := c.namedValue(&f.Of), c.cfg.FromEnv(&f.Of)
	a := &Agg{Func: fn}
	var colType config.Type
	rows := sc // the scope the rows aggregated come from, for where
	arr, col, nested := strings.Cut(f.Of, ".")
	if af := fieldNamed(prior, arr); af != nil && af.Kind == KindMany {
		// An aggregate over a nested array of the same document.
		a.Array = arr
		rows = scope{view: sc.view, source: af.Join.Source, path: path}
		if nested {
			item := fieldNamed(af.Join.Fields, col)
			if inner, _, deeper := strings.Cut(col, "."); item == nil && deeper {
				nf := fieldNamed(af.Join.Fields, inner)
				switch {
				case nf == nil || nf.Kind != KindMany:
				case ofEnv:
					c.errs.Add(ofPos, "%s: of: reaches one level of nesting, and %s reaches an array inside the array: aggregate the inner array inside the outer one and aggregate that field here", path, of)
					return nil
				default:
					c.errs.Add(ofPos, "%s: of: reaches one level of nesting, and %s.%s is an array inside %s: aggregate it inside %s (a field such as %s_%s: { agg: %s, of: %s }) and aggregate that field here",
						path, arr, inner, arr, arr, inner, f.Agg, f.Agg, strings.TrimPrefix(f.Of, arr+"."))
					return nil
				}
			}
			switch {
			case item == nil && ofEnv:
				c.errs.Add(ofPos, "%s: of: %s names no field of the array", path, of)
				return nil
			case item == nil:
				c.errs.Add(ofPos, "%s: %q has no field %q", path, arr, col)
				return nil
			}
			if shape := nonScalar(item); shape != "" && fn != AggCount {
				// Its values are JSON objects or arrays: no sum, average or
				// order applies, and the result would always be null.
				need := "needs numbers"
				if fn == AggMin || fn == AggMax {
					need = "needs values it can order"
				}
				c.errs.Add(ofPos, "%s: %s %s, but %s is %s", path, f.Agg, need, of, shape)
				return nil
			}
			a.Column, colType = col, itemType(item, af.Join.Source)
		} else if fn != AggCount {
			example := arr + ".<field>"
			if ofEnv {
				example = "<array>.<field>, not " + of
			}
			c.errs.Add(ofPos, "%s: %s needs a field of the array (of: %s)", path, f.Agg, example)
			return nil
		}
	} else {
		if !grouped {
			if f.Of == "" && fn != AggCount {
				return nil // config.Load has asked for of:
			}
			if f.Of == "" {
				c.errs.Add(f.Pos, "%s: count counts the rows of a group_by view's group, or with of: a one-to-many field declared before it (of: items)", path)
				return nil
			}
			c.errs.Add(f.Pos, "%s: agg over %s needs a one-to-many field declared before it, or a group_by view", path, c.cfg.Show(&f.Of))
			return nil
		}
		if f.Of != "" {
			t, ok := c.column(sc, ofPos, f.Of)
			if !ok {
				return nil
			}
			c.use(sc.source, f.Of)
			a.Column, colType = f.Of, t
		}
		rows.path = path
	}
	if (fn == AggSum || fn == AggAvg) && !summable(colType) {
		c.errs.Add(ofPos, "%s: %s needs numbers, but %s is %s", path, f.Agg, of, colType)
		return nil
	}
	if (fn == AggMin || fn == AggMax) && !colType.Array && slices.Contains([]string{"json", "jsonb", "bytea"}, colType.Name) {
		// PostgreSQL has no min or max of these: no order the stores
		// agree on.
		c.errs.Add(ofPos, "%s: %s needs values it can order, but %s is %s", path, f.Agg, of, colType)
		return nil
	}
	if f.Where != "" {
		// Over the rows themselves: the group's root rows, or the joined
		// rows behind the array's items.
		if a.Where = c.where(rows, &f.Where, f.Pos); a.Where == nil {
			return nil
		}
	}
	return &Field{Name: name, Kind: KindAgg, Agg: a, Type: aggType(fn, colType)}
}

// summable reports whether sum and avg can add values of type t: numbers,
// or values whose type is not declared (the zero Type). A declared jsonb
// holds objects and arrays as well as numbers, so it is refused.
func summable(t config.Type) bool {
	if t.Array {
		return false
	}
	switch family(t) {
	case "integer", "number", "":
		return true
	}
	return false
}

// nonScalar describes the values of a field of an array's items that are
// always a JSON object or array ("a joined object", "a nested array"), or
// returns "" for a field with single values.
func nonScalar(f *Field) string {
	switch {
	case f.Kind == KindMany:
		return "a nested array"
	case f.Kind == KindOne && f.Column == "":
		return "a joined object"
	}
	return ""
}

// itemType is the declared type of a field of an array's items whose rows
// come from source src, or the zero Type when it is not declared: a column
// of a source without declared columns, or a min or max over one, which
// compile types jsonb.
func itemType(f *Field, src *Source) config.Type {
	undeclared := f.Type.Name == "jsonb" && !f.Type.Array
	switch {
	case f.Kind == KindColumn && src.Columns == nil && undeclared,
		f.Kind == KindOne && f.Join.Source.Columns == nil && undeclared,
		f.Kind == KindAgg && undeclared:
		return config.Type{}
	}
	return f.Type
}

func aggType(fn AggFunc, col config.Type) config.Type {
	switch {
	case fn == AggCount:
		return config.Type{Name: "bigint", Precision: -1, Scale: -1}
	case fn == AggAvg:
		return config.Type{Name: "numeric", Precision: -1, Scale: -1}
	case fn == AggSum && isInteger(col):
		return config.Type{Name: "numeric", Precision: -1, Scale: 0}
	case fn == AggSum && col.Name == "numeric":
		return config.Type{Name: "numeric", Precision: -1, Scale: col.Scale}
	case col.Name == "":
		return config.Type{Name: "jsonb", Precision: -1, Scale: -1}
	}
	return col
}
