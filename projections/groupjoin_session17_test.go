package projections_test

import (
	"strings"
	"testing"
)

// TestGroupByJoins: a group_by view embeds one joined row per group, on
// its group_by columns (which may embed joins of its own); anything else
// is refused at its line:col, saying what such a join may be.
func TestGroupByJoins(t *testing.T) {
	for _, c := range []struct{ field, want string }{
		{`{ one: users, on: { _id: user_id }, fields: { name: name } }`, ""},
		{`{ one: users, on: { _id: user_id }, column: name }`, ""},
		{`{ one: users, on: { _id: status }, column: name }`, "t.yaml:24:35: s.u: a join of a group_by view is on its group_by columns (user_id), and status is not one"},
		{`{ one: users, on: { _id: user_id }, fields: { o: { many: orders, on: { user_id: _id }, fields: { id: id } } } }`, ""},
		{`{ many: items, on: { user_id: user_id }, fields: { id: id } }`, "a group_by view embeds one joined row per group (one:, on its group_by columns), not arrays"},
	} {
		err := compileViews(t, `
  s:
    from: orders
    group_by: user_id
    fields:
      user_id: user_id
      n: { agg: count }
      u: `+c.field+`
    sinks: { postgres: {} }
`)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: refused: %v", c.field, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v\nwant %q", c.field, err, c.want)
		}
	}
}
