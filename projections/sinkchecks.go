package projections

import (
	"slices"
	"strings"

	"github.com/projectorhq/projector/config"
)

// The checks of what a view's sinks do with its fields: the keys and
// indexes they build from them.

// sinkTemplates checks that key templates name only id fields, which a
// delete still knows, and every one of them: documents that differ only in
// one left out would share a key and a revision, overwriting and deleting
// each other. config.Load has checked the fields sinks keep.
func (c *compiler) sinkTemplates(view *View, v *config.View) {
	r := v.Sinks.Redis
	if r == nil || r.Key == "" || len(view.ID) == 0 { // reported by config.Load, or the view has an error of its own
		return
	}
	parts, err := config.ParseKeyTemplate(r.Key)
	if err != nil {
		return // config.Load has reported it
	}
	named := map[string]bool{}
	for _, p := range parts {
		if !p.Field {
			continue
		}
		named[p.Text] = true
		if !slices.Contains(view.ID, p.Text) {
			placeholder := "placeholder {" + p.Text + "}"
			if c.cfg.FromEnv(&r.Key) {
				placeholder = "placeholder of the " + c.cfg.Show(&r.Key)
			}
			c.errs.Add(r.Pos, "view %q: redis key %s must be an id field (%s): a deleted document has no other fields", view.Name, placeholder, strings.Join(view.ID, ", "))
		}
	}
	for i, id := range view.ID {
		if !named[id] && !namedColumn(view, named, i) {
			c.errs.Add(r.Pos, "view %q: redis key %s leaves out the id field {%s}: documents that differ only in it would share one key", view.Name, c.cfg.Show(&r.Key), id)
		}
	}
}

// namedColumn says whether a placeholder of named gives the column of the
// i-th id field through another id field of the same column (id: [uid,
// uid2], both user_id): the documents differ in neither then.
func namedColumn(view *View, named map[string]bool, i int) bool {
	if len(view.IDColumns) != len(view.ID) {
		return false
	}
	for j, id := range view.ID {
		if named[id] && view.IDColumns[j] == view.IDColumns[i] {
			return true
		}
	}
	return false
}

// postgresIndexPaths checks that an index on a path (customer.id) goes
// into a field the table holds as jsonb; config.Load has checked that the
// fields exist.
func (c *compiler) postgresIndexPaths(view *View, v *config.View) {
	p := v.Sinks.Postgres
	if p == nil {
		return
	}
	for j := range p.Indexes {
		ix := &p.Indexes[j]
		for i, path := range ix.Fields {
			name, _, nested := strings.Cut(path, ".")
			f := fieldNamed(view.Fields, name)
			if !nested || f == nil || !f.Type.Array && (f.Type.Name == "jsonb" || f.Type.Name == "json") {
				continue
			}
			pos, shown := c.cfg.ItemPos(&ix.Fields, i, ix.Pos), c.cfg.ShowItem(&ix.Fields, i)
			if _, env := c.cfg.ShowAt(pos, path); env {
				name = "its field"
			}
			c.errs.Add(pos, "view %q: postgres index on %s: a path needs a jsonb field, but %s is %s", view.Name, shown, name, f.Type)
		}
	}
}

// redisIndexTypes checks what the Redis sink does with the values of an
// index's fields: its key's placeholders must be scalars (an object or an
// array is no part of a key), and its score a number, a date or a
// timestamp. Otherwise every document having the field fails its write.
// config.Load has checked that the fields exist.
func (c *compiler) redisIndexTypes(view *View, v *config.View) {
	r := v.Sinks.Redis
	if r == nil {
		return
	}
	for j := range r.Indexes {
		ix := &r.Indexes[j]
		parts, _ := config.ParseKeyTemplate(ix.Key)
		for _, p := range parts {
			f := fieldAt(view.Fields, p.Text)
			switch {
			case !p.Field || f == nil || scalarField(f):
			case c.cfg.FromEnv(&ix.Key):
				c.errs.Add(c.cfg.ValuePos(&ix.Key, ix.Pos), "view %q: a placeholder of redis index key %s is %s, which cannot be part of a key: name a field inside it",
					view.Name, c.cfg.Show(&ix.Key), describeField(f))
			default:
				c.errs.Add(c.cfg.ValuePos(&ix.Key, ix.Pos), "view %q: redis index key placeholder {%s} is %s, which cannot be part of a key: name a field inside it (e.g. {%s.id})",
					view.Name, p.Text, describeField(f), p.Text)
			}
		}
		if f := fieldAt(view.Fields, ix.Score); f != nil && !scoreField(f) {
			c.errs.Add(c.cfg.ValuePos(&ix.Score, ix.Pos), "view %q: redis index score %s is %s: a score is a number, a date or a timestamp",
				view.Name, c.namedValue(&ix.Score), describeField(f))
		}
	}
}

// fieldAt is the field a dotted path names, through one-to-one joins;
// nil when it names none.
func fieldAt(fields []*Field, path string) *Field {
	name, rest, nested := strings.Cut(path, ".")
	f := fieldNamed(fields, name)
	switch {
	case f == nil || !nested:
		return f
	case f.Kind == KindOne && f.Column == "":
		return fieldAt(f.Join.Fields, rest)
	}
	return nil
}

// scalarField reports whether f holds one value, not an object or array.
func scalarField(f *Field) bool {
	switch {
	case f.Kind == KindMany, f.Kind == KindOne && f.Column == "", f.Type.Array:
		return false
	}
	return f.Type.Name != "json" && f.Type.Name != "jsonb"
}

func scoreField(f *Field) bool {
	if !scalarField(f) {
		return false
	}
	switch f.Type.Name {
	case "", "smallint", "integer", "bigint", "numeric", "real", "double precision", "date", "timestamp", "timestamptz":
		return true // "": a type not declared, known only at run time
	}
	return false
}

func describeField(f *Field) string {
	switch {
	case f.Kind == KindMany:
		return "an array of objects"
	case f.Kind == KindOne && f.Column == "":
		return "an object"
	}
	return f.Type.String()
}
