package projections_test

import (
	"strings"
	"testing"
)

// An unknown column of this row in `on: { joined: outer }` is reported at
// the value (line 22 col 35, usr_id), not at the key (col 30, _id).
func TestUnknownOuterJoinColumnPosition(t *testing.T) {
	err := compileViews(t, `
  v:
    from: orders
    fields:
      id: id
      u: { one: users, on: { _id: usr_id }, fields: { name: name } }
    sinks: { postgres: {} }
`)
	if err == nil || !strings.HasPrefix(err.Error(), "t.yaml:22:35:") {
		t.Errorf("error %v\nwant it at t.yaml:22:35 (the value usr_id)", err)
	}
}

// Errors about `id:` point at the id value (line 20 col 9), not at the
// view's first key (line 19, from:).
func TestIDErrorPosition(t *testing.T) {
	for name, views := range map[string]string{
		"id not the key": `
  v:
    from: orders
    id: user_id
    fields: { id: id, user_id: user_id }
    sinks: { postgres: {} }
`,
		"id not a column field": `
  v:
    from: orders
    id: nid
    fields: { id: id, nid: { expr: 'id', type: bigint } }
    sinks: { postgres: {} }
`,
	} {
		t.Run(name, func(t *testing.T) {
			err := compileViews(t, views)
			if err == nil || !strings.HasPrefix(err.Error(), "t.yaml:20:9:") {
				t.Errorf("error %v\nwant it at t.yaml:20:9 (the id value)", err)
			}
		})
	}
}

// An error inside an expression is reported at its place in the file,
// however the expression is written: a quoted scalar with escapes (\" in
// double quotes, a doubled quote in single quotes), a plain scalar over
// several lines, whose line break reads as a space, or a folded block.
func TestExpressionErrorPositionInFoldedOrEscapedText(t *testing.T) {
	for _, tc := range []struct{ name, views, want string }{
		{"double-quoted with escapes", `
  v:
    from: orders
    where: "status != \"x\" && stauts == 1"
    fields: { id: id }
    sinks: { postgres: {} }
`, "t.yaml:20:32:"},
		{"single-quoted with ''", `
  v:
    from: orders
    where: 'status != ''x'' && stauts == 1'
    fields: { id: id }
    sinks: { postgres: {} }
`, "t.yaml:20:32:"},
		{"plain over two lines", `
  v:
    from: orders
    where: status != 'x' &&
      stauts == 1
    fields: { id: id }
    sinks: { postgres: {} }
`, "t.yaml:21:7:"},
		{"folded block", `
  v:
    from: orders
    where: >-
      status != 'x' &&
      stauts == 1
    fields: { id: id }
    sinks: { postgres: {} }
`, "t.yaml:22:7:"},
		{"literal block, indented", `
  v:
    from: orders
    where: |
      status != 'x'
        && stauts == 1
    fields: { id: id }
    sinks: { postgres: {} }
`, "t.yaml:22:12:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := compileViews(t, tc.views)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %v\nwant it at %s (stauts)", err, tc.want)
			}
		})
	}
}
