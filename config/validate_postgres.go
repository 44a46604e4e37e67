package config

import (
	"slices"
	"strings"
)

// pgSystemColumns are the columns PostgreSQL gives every table: a view
// table cannot declare one of their names (CREATE TABLE fails, 42701).
var pgSystemColumns = []string{"tableoid", "xmin", "cmin", "xmax", "cmax", "ctid"}

// postgresSchema refuses a view table's schema PostgreSQL keeps for its
// own (pg_catalog, pg_toast, …): CREATE SCHEMA refuses a new one so named.
func (v *validator) postgresSchema(pg *PostgresSink, label string) {
	if v.usable(&pg.Schema) && validName(pg.Schema) && strings.HasPrefix(pg.Schema, "pg_") {
		v.add(v.at(&pg.Schema, pg.Pos), "schema of %s must not start with pg_, which PostgreSQL keeps for its own schemas, got %s", label, v.show(&pg.Schema))
	}
}

// writtenColumn reports whether a PostgreSQL sink writes the top-level
// field name as a column: it keeps it (fields:, every field by default),
// or it is an id field, which the sink always writes.
func writtenColumn(pg *PostgresSink, ids []string, name string) bool {
	return len(pg.Fields) == 0 || slices.Contains(pg.Fields, name) || slices.Contains(ids, name)
}

// idFields are the view's id fields as far as the file tells them: id:,
// else the first column field mapping each column of the root source's
// key (of group_by in a group_by view). Package projections settles the
// id and reports what is wrong with it.
func (v *validator) idFields(vw *View) []string {
	if len(vw.ID) > 0 {
		return vw.ID
	}
	cols := vw.GroupBy
	if len(cols) == 0 {
		src, _ := v.c.Sources.Get(vw.From)
		cols = src.Key
	}
	var out []string
	for _, col := range cols {
		i := slices.IndexFunc(vw.Fields, func(e Entry[Field]) bool { return columnField(&e.Value) && e.Value.Column == col })
		if i >= 0 {
			out = append(out, vw.Fields[i].Key)
		}
	}
	return out
}

func columnField(f *Field) bool {
	return f.Column != "" && f.Expr == "" && f.One == "" && f.Many == "" && f.Agg == ""
}

// unindexableField reports whether a top-level field of vw is json or
// json[], as its type: or its source's columns say: PostgreSQL has no
// btree operator class for json (jsonb has one), so it can be neither in
// a primary key nor in a declared index.
func (v *validator) unindexableField(vw *View, name string) bool {
	f, ok := vw.Fields.Get(name)
	if !ok {
		return false
	}
	typ := f.Type
	switch {
	case f.Agg != "" || f.Many != "" || f.One != "" && f.Column == "":
		return false // a number, or an object or array the table holds as jsonb
	case typ == "" && f.Column != "":
		from := vw.From
		if f.One != "" {
			from = f.One
		}
		src, _ := v.c.Sources.Get(from)
		typ, _ = src.Columns.Get(f.Column)
	}
	t, err := ParseType(typ)
	return err == nil && t.Name == "json"
}

// jsonIDs refuses a json id field of a view with a PostgreSQL sink: the
// id is the view table's primary key.
func (v *validator) jsonIDs(vw *View, ids []string, label string) {
	for _, e := range vw.Fields {
		if slices.Contains(ids, e.Key) && v.unindexableField(vw, e.Key) {
			v.add(e.KeyPos, "%s: id field %q is json, which PostgreSQL cannot index as the table's primary key (json has no equality): declare it jsonb", label, e.Key)
		}
	}
}
