package projections_test

import (
	"strings"
	"testing"
)

// Compile rejects configurations that would load but could not work, each
// problem at the place in the file it comes from.
func TestRejectsViewsThatCannotWork(t *testing.T) {
	for _, tc := range []struct{ name, views, want string }{
		{"where not boolean", `
  v:
    from: orders
    where: total + 1
    fields: { id: id }
    sinks: { postgres: {} }
`, `t.yaml:16:12: v: invalid expression "total + 1": expected bool, but got float`},
		{"join where not boolean", `
  v:
    from: orders
    fields:
      id: id
      same_user: { many: orders, on: { user_id: user_id }, where: "total", fields: { id: id } }
    sinks: { postgres: {} }
`, `t.yaml:18:67: v.same_user: invalid expression "total": expected bool, but got float`},
		{"expr result does not fit its type", `
  v:
    from: orders
    fields:
      id: id
      x: { expr: "status + 'a'", type: bigint }
    sinks: { postgres: {} }
`, `t.yaml:18:18: v.x: expression "status + 'a'" gives string, which does not fit type bigint`},
		{"text plus a number in a where", `
  v:
    from: orders
    where: status + 1 > 0
    fields: { id: id }
    sinks: { postgres: {} }
`, `t.yaml:16:19: v: invalid expression "status + 1 > 0": invalid operation: + (mismatched types string and int)`},
		{"a number plus text", `
  v:
    from: orders
    fields:
      id: id
      x: { expr: "id + status", type: bigint }
    sinks: { postgres: {} }
`, `t.yaml:18:22: v.x: invalid expression "id + status": invalid operation: + (mismatched types int and string)`},
		{"float result declared an integer", `
  v:
    from: orders
    fields:
      id: id
      x: { expr: "id / 2", type: bigint }
    sinks: { postgres: {} }
`, `t.yaml:18:18: v.x: expression "id / 2" gives float, which does not fit type bigint (int(…) truncates it, int(round(…)) rounds it; or declare a numeric type)`},
		{"group id is a subset of group_by", `
  v:
    from: orders
    group_by: [user_id, status]
    id: user_id
    fields: { user_id: user_id, status: status, n: { agg: count } }
    sinks: { postgres: {} }
`, `t.yaml:17:9: view "v": id [user_id] must map every group_by column (user_id, status)`},
		{"sum of a text column", `
  v:
    from: orders
    group_by: user_id
    fields: { user_id: user_id, s: { agg: sum, of: status } }
    sinks: { postgres: {} }
`, `t.yaml:17:52: v.s: sum needs numbers, but status is text`},
		{"avg of a nested text field", `
  v:
    from: users
    fields:
      _id: _id
      orders: { many: orders, on: { user_id: _id }, fields: { status: status } }
      a: { agg: avg, of: orders.status }
    sinks: { postgres: {} }
`, `t.yaml:19:26: v.a: avg needs numbers, but orders.status is text`},
		{"agg where is invalid", `
  v:
    from: orders
    group_by: user_id
    fields: { user_id: user_id, n: { agg: count, where: "nope +" } }
    sinks: { postgres: {} }
`, `t.yaml:17:63: v.n: invalid expression "nope +": unexpected token EOF`},
		{"agg where over an array reads the joined source", `
  v:
    from: users
    fields:
      _id: _id
      orders: { many: orders, on: { user_id: _id }, fields: { id: id } }
      paid: { agg: count, of: orders, where: "name == 'x'" }
    sinks: { postgres: {} }
`, `t.yaml:19:47: v.paid: invalid expression "name == 'x'": unknown name name`},
		{"order_by column unknown", `
  v:
    from: users
    fields:
      _id: _id
      orders: { many: orders, on: { user_id: _id }, order_by: [status, -nope], fields: { id: id } }
    sinks: { postgres: {} }
`, `t.yaml:18:72: v.orders: source "orders" has no column "nope"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := compile(t, head+strings.TrimPrefix(tc.views, "\n"))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error\n%v\nwant\n%s", err, tc.want)
			}
		})
	}
}

// An invalid expression is reported where the expression is written (plus
// the column inside it), not at the key of the field or view holding it.
func TestExpressionErrorsPointIntoTheExpression(t *testing.T) {
	for _, tc := range []struct{ name, views, want string }{
		{"field expr on its own line", `
  v:
    from: orders
    fields:
      id: id
      x:
        type: text
        expr: "status + + "
`, "t.yaml:20:"},
		{"plain scalar", `
  v:
    from: orders
    fields:
      id: id
      x:
        type: text
        expr: status + stauts
`, "t.yaml:20:24:"},
		{"view where after fields", `
  v:
    from: orders
    fields:
      id: id
    where: stauts == "x"
`, "t.yaml:18:12:"},
		{"block scalar", `
  v:
    from: orders
    fields:
      id: id
      x:
        type: text
        expr: |
          status +
            stauts
`, "t.yaml:22:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := compile(t, head+strings.TrimPrefix(tc.views, "\n")+"    sinks: { postgres: {} }\n")
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %v, want it at %s", err, tc.want)
			}
		})
	}
}

// TestKeyColumnNotDeclared: a key column the source does not declare is
// reported at that column in key:, not at the source.
func TestKeyColumnNotDeclared(t *testing.T) {
	_, err := compile(t, `version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://x" } }
sources:
  orders:
    topic: shop.public.orders
    key: [id, region]
    columns: { id: bigint }
views:
  v: { from: orders, fields: { id: id }, sinks: { postgres: {} } }
`)
	const want = `t.yaml:7:15: source "orders": key column "region" is not among its columns`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error\n%v\nwant\n%s", err, want)
	}
}

// TestMinMaxNeedAnOrder: min and max of jsonb or bytea, which PostgreSQL
// has no min or max of, are refused; of an array they compare element by
// element, as PostgreSQL's do.
func TestMinMaxNeedAnOrder(t *testing.T) {
	_, err := compile(t, `version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://x" } }
sources:
  o: { topic: o, key: id, columns: { id: bigint, k: text, j: jsonb, b: bytea, a: "bigint[]" } }
views:
  v:
    from: o
    group_by: k
    fields: { k: k, mj: { agg: max, of: j }, mb: { agg: min, of: b }, ma: { agg: max, of: a } }
    sinks: { postgres: {} }
`)
	for _, want := range []string{`t.yaml:10:41: v.mj: max needs values it can order, but j is jsonb`, `t.yaml:10:66: v.mb: min needs values it can order, but b is bytea`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error\n%v\nwant\n%s", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "v.ma") {
		t.Errorf("max of an array refused: %v", err)
	}
}
