package projections_test

import (
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
)

// TestR28gDeclaredTypeIgnored: a `type:` on a one-to-one join's `column:`
// shorthand and on an aggregate, both of which `projector validate`
// accepts (config/validate_view.go refuses a type only on a joined object
// or array).
// Expected (README, Commands: validate reports "every problem, of structure
// and of the views' meaning"): the field has the type written (the store's
// column and the value follow it, as for a column field), or validate
// refuses the key as it refuses it on `one`/`many` objects.
// Got: validate says ok, and the type is dropped without a word:
// compile (projections/compile.go, join: `out.Type = t`; projections/agg.go:
// `Type: aggType(fn, colType)`) types the fields by the joined column and by
// the aggregate, so `avg … type: "numeric(10,2)"` still gives
// 1.6666666666666667 in a numeric column, and `column: n, type: text` an
// integer column.
func TestR28gDeclaredTypeIgnored(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte(viewsHead+`  v:
    from: orders
    fields:
      id: id
      uname: { one: users, on: { _id: user_id }, column: name, type: "varchar(3)" }
      items: { many: items, on: { order_id: id }, fields: { price: price } }
      avg_price: { agg: avg, of: items.price, type: "numeric(10,2)" }
    sinks: { postgres: {} }
`), lookup)
	if err != nil {
		return // refused: fine
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		return // refused: fine
	}
	want := map[string]string{"uname": "varchar(3)", "avg_price": "numeric(10,2)"}
	for _, v := range plan.Views {
		for _, f := range v.Fields {
			if w, ok := want[f.Name]; ok && f.Type.String() != w {
				t.Errorf("field %s: accepted with type: %s, compiled as %s (the declared type is silently ignored)", f.Name, w, f.Type)
			}
		}
	}
}
