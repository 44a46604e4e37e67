package projections_test

import (
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
)

// compileSources compiles a file of the given sources and views (each
// starting at line 5, the views after them).
func compileSources(t *testing.T, sources, views string) error {
	t.Helper()
	data := "version: 1\nkafka: { brokers: \"localhost:9092\" }\nstores: { postgres: { url: \"${PROJECTOR_POSTGRES_URL}\" } }\nsources:\n" +
		strings.TrimPrefix(sources, "\n") + "views:\n" + strings.TrimPrefix(views, "\n")
	cfg, err := config.Parse("t.yaml", []byte(data), lookup)
	if err != nil {
		return err
	}
	_, err = projections.Compile(cfg)
	return err
}

// TestNumericIDWithoutScaleRefused: a numeric without a declared scale
// keeps the scale each value came with, and a document is found by its
// id's text, so 1.0 and 1.00 would be two documents that PostgreSQL's
// primary key holds as one row (a key written again at another scale
// leaves the table the deletion, the other stores the document). validate
// refuses such an id field, as it refuses the column for group_by and
// joins, pointing at the field; a declared scale, an integer typed
// numeric or the id typed text (which keeps 1.0 and 1.00 apart in every
// store) pass.
func TestNumericIDWithoutScaleRefused(t *testing.T) {
	const sources = `
  o: { topic: o, key: id, columns: { id: numeric, code: bigint, n: bigint } }
  s: { topic: s, key: [code, id], columns: { id: numeric, code: bigint } }
  p: { topic: p, key: id, columns: { id: "numeric(12,2)" } }
  w: { topic: w, key: id }
  b: { topic: b, key: id, columns: { id: bigint } }
`
	refused := []struct{ name, views, want string }{
		{"default id", `
  v:
    from: o
    fields: { id: id, n: n }
    sinks: { postgres: {} }
`, `t.yaml:13:19: view "v": id field "id" (column id of source "o") is a numeric without a declared scale, whose values keep the scale they came with: 1.0 and 1.00 would be two documents, which PostgreSQL's primary key holds as one row (one overwriting or deleting the other); declare it numeric(p,s)`},
		{"named id, typed numeric", `
  v:
    from: o
    id: [key]
    fields:
      key: { column: id, type: numeric }
    sinks: { redis: { key: "v:{key}" } }
`, `t.yaml:15:32: view "v": id field "key" (column id of source "o")`},
		{"part of a composite key", `
  v:
    from: s
    fields: { code: code, id: id }
    sinks: { postgres: {} }
`, `t.yaml:13:31: view "v": id field "id" (column id of source "s")`},
		{"undeclared column typed numeric", `
  v:
    from: w
    fields:
      id: { column: id, type: numeric }
    sinks: { postgres: {} }
`, `t.yaml:14:31: view "v": id field "id" (column id of source "w")`},
	}
	for _, c := range refused {
		err := compileSources(t, sources, c.views)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v\nwant %s", c.name, err, c.want)
		}
		if err != nil && strings.Count(err.Error(), "\n") > 0 {
			t.Errorf("%s: more than one problem:\n%v", c.name, err)
		}
	}
	passing := map[string]string{
		"a declared scale": `
  v: { from: p, fields: { id: id }, sinks: { postgres: {} } }
`,
		"an integer typed numeric": `
  v: { from: b, fields: { id: { column: id, type: numeric } }, sinks: { postgres: {} } }
  u:
    from: s
    fields: { code: { column: code, type: numeric }, id: { column: id, type: text } }
    sinks: { postgres: {} }
`,
		"the id typed text": `
  v: { from: o, fields: { id: { column: id, type: text } }, sinks: { postgres: {} } }
`,
		"a numeric that is no id": `
  v: { from: s, fields: { code: code, id: { column: id, type: text }, again: id }, sinks: { postgres: {} } }
`,
	}
	for name, views := range passing {
		if err := compileSources(t, sources, views); err != nil {
			t.Errorf("%s: %v; want it valid", name, err)
		}
	}
}

// TestGroupByUnscaledNumericRefusedOnce: a group_by view's id is its
// group_by columns, refused as such; the id field is not reported again.
func TestGroupByUnscaledNumericRefusedOnce(t *testing.T) {
	err := compileSources(t, `
  o: { topic: o, key: id, columns: { id: bigint, amount: numeric } }
`, `
  v:
    from: o
    group_by: [amount]
    fields: { amount: amount, n: { agg: count } }
    sinks: { postgres: {} }
`)
	if err == nil || strings.Count(err.Error(), "\n") != 0 || !strings.Contains(err.Error(), "group_by amount is a numeric without a declared scale") {
		t.Errorf("group_by an unscaled numeric: %v; want the group_by refused, once", err)
	}
}
