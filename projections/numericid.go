package projections

import "github.com/projectorhq/projector/config"

// unscaledIDs refuses an id field that is a numeric without a declared
// scale, as group_by and joins refuse such a column. Its values keep the
// scale they came with, and a document is found by its id's text, so 1.0
// and 1.00 are two documents where PostgreSQL's primary key (numeric,
// 1.0 = 1.00) holds one row: a row whose key is written again at another
// scale (deleted as 1.0 and created as 1.00 in one batch, as Debezium
// sends an update of the key) leaves the table the deletion while the
// other stores hold the document. An integer column typed numeric keeps
// the scale of its digits, 0. A group_by view's id is its group_by
// columns, which the group_by check refuses already.
func (c *compiler) unscaledIDs(view *View, v *config.View) {
	if len(view.GroupBy) > 0 {
		return
	}
	for _, name := range view.ID {
		f := fieldNamed(view.Fields, name)
		if f == nil || !unscaledNumeric(f.Type) {
			continue
		}
		if from, declared := view.Root.ColumnType(f.Column); declared && (isInteger(from) || f.Retyped) {
			continue // an integer's scale is 0; lossyIDs refuses another column retyped
		}
		pos, column := v.Pos, f.Column
		for i := range v.Fields {
			if e := &v.Fields[i]; e.Key == name {
				pos, column = c.cfg.ValuePos(&e.Value.Column, e.KeyPos), c.namedValue(&e.Value.Column)
				if e.Value.Type != "" {
					pos = c.cfg.ValuePos(&e.Value.Type, pos)
				}
			}
		}
		c.errs.Add(pos, "view %q: id field %q (column %s of source %q) is a numeric without a declared scale, whose values keep the scale they came with: 1.0 and 1.00 would be two documents, which PostgreSQL's primary key holds as one row (one overwriting or deleting the other); declare it numeric(p,s)",
			view.Name, name, column, view.Root.Name)
	}
}
