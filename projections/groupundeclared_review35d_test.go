package projections_test

import (
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
)

// TestR35dGroupExprOverUndeclaredColumn: a column of a source that declares
// no columns is of any type to expressions (a row view's expr over it
// validates whatever it does with it, and its value says at run time);
// groupExpr means the same for a group_by column ("of no type when
// undeclared: any"), but checkedType makes the zero Type types.Nil, so an
// expr of a group_by view that calls a builtin on its group column or
// orders it is refused: "cannot use nil as argument (type string) to call
// upper", "mismatched types unknown and int". The same expressions in a
// row view over that source validate.
func TestR35dGroupExprOverUndeclaredColumn(t *testing.T) {
	const yaml = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://u@localhost/db" } }
sources:
  orders:
    topic: s.public.orders
    key: id
views:
  rows:
    from: orders
    fields:
      id: id
      up: { expr: 'upper(user_id)', type: text }
      big: { expr: 'user_id > "m"', type: boolean }
    sinks: { postgres: {} }
  stats:
    from: orders
    group_by: user_id
    fields:
      user_id: user_id
      n: { agg: count }
      up: { expr: 'upper(user_id)', type: text }
      big: { expr: 'user_id > "m"', type: boolean }
    sinks: { postgres: {} }
`
	cfg, err := config.Parse("t.yaml", []byte(yaml), lookup)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if _, err := projections.Compile(cfg); err != nil {
		t.Errorf("an expr of a group_by view over its undeclared group column is refused, as the same expr of a row view is not:\n%v", err)
	}
}
