package projections

import (
	"slices"

	"github.com/projectorhq/projector/config"
)

// lossyIDs refuses an id field that retypes its column into fewer values
// (a timestamptz as a date, numeric(10,2) as numeric(10,1), a bigint as a
// smallint): a document is keyed by its column's value, so two rows of
// different values would make two documents that the stores keying them
// by the field (PostgreSQL's primary key) hold as one, each overwriting or
// deleting the other.
func (c *compiler) lossyIDs(view *View, v *config.View) {
	for _, name := range view.ID {
		f := fieldNamed(view.Fields, name)
		if f == nil || !f.Retyped {
			continue
		}
		from, ok := view.Root.ColumnType(f.Column)
		if !ok || keepsValues(from, f.Type) {
			continue
		}
		pos := v.Pos
		if e, ok := entryNamed(v.Fields, name); ok {
			pos = c.cfg.ValuePos(&e.Value.Type, e.KeyPos)
		}
		c.errs.Add(pos, "view %q: id field %q retypes column %q (%s) as %s, which can give different values one: their documents would overwrite each other where the field keys them; keep the column's type (and add the %s as another field)",
			view.Name, name, f.Column, from, f.Type, f.Type)
	}
}

// keepsValues reports whether every value of type from stays distinct as
// type to: text of any value, a wider integer, a timestamp with or without
// its zone, a date as a timestamp.
func keepsValues(from, to config.Type) bool {
	if from.Array || to.Array {
		return from == to
	}
	if to.Name == "text" || to.Name == "varchar" && to.Precision < 0 {
		return true
	}
	ints := []string{"smallint", "integer", "bigint"}
	if i, j := slices.Index(ints, from.Name), slices.Index(ints, to.Name); i >= 0 && (j >= i || to.Name == "numeric" && to.Scale <= 0 && to.Precision < 0) {
		return true
	}
	times := from.Name == "timestamp" || from.Name == "timestamptz" || from.Name == "date"
	if times && (to.Name == "timestamp" || to.Name == "timestamptz") {
		return to.Precision < 0 || from.Name == "date" || from.Precision >= 0 && to.Precision >= from.Precision
	}
	return false
}

// entryNamed is the field entry of a view's configuration named name.
func entryNamed(fields config.Map[config.Field], name string) (config.Entry[config.Field], bool) {
	for _, e := range fields {
		if e.Key == name {
			return e, true
		}
	}
	return config.Entry[config.Field]{}, false
}
