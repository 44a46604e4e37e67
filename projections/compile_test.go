package projections_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
)

func lookup(k string) (string, bool) {
	if k == "PROJECTOR_POSTGRES_URL" {
		return "postgres://localhost/x", true
	}
	return "", false
}

func compile(t *testing.T, yaml string) (*projections.Plan, error) {
	t.Helper()
	cfg, err := config.Parse("t.yaml", []byte(yaml), lookup)
	if err != nil {
		t.Fatalf("config (the case must pass config validation):\n%v", err)
	}
	return projections.Compile(cfg)
}

func TestExampleShop(t *testing.T) {
	b, err := os.ReadFile("../examples/shop/projector.yaml")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := compile(t, string(b))
	if err != nil {
		t.Fatal(err)
	}
	ov := plan.View("order_view")
	if ov == nil || !slices.Equal(ov.ID, []string{"id"}) || !slices.Equal(ov.IDColumns, []string{"id"}) {
		t.Fatalf("order_view id: %+v", ov)
	}
	var cols []string
	for _, c := range ov.Columns() {
		cols = append(cols, c.Name+" "+c.Type.String())
	}
	want := []string{"id bigint", "status text", "total_amount numeric(10,2)", "created_at timestamp",
		"customer jsonb", "items jsonb", "item_count bigint"}
	if !slices.Equal(cols, want) {
		t.Errorf("order_view columns\n got %v\nwant %v", cols, want)
	}
	stats := plan.View("user_order_stats")
	if !slices.Equal(stats.ID, []string{"user_id"}) || !slices.Equal(stats.GroupBy, []string{"user_id"}) {
		t.Errorf("user_order_stats id %v group %v", stats.ID, stats.GroupBy)
	}
	// Slim state: products keeps only what views read (not price, category, updated_at).
	if got := plan.Source("products").Kept; !slices.Equal(got, []string{"id", "name"}) {
		t.Errorf("products kept %v", got)
	}
	// Joins look rows up by their join columns.
	if got := plan.Source("order_items").Indexed; !slices.Equal(got, []string{"order_id", "product_id"}) {
		t.Errorf("order_items indexed %v", got)
	}
	if got := plan.Source("orders").Indexed; !slices.Contains(got, "user_id") {
		t.Errorf("orders indexed %v", got)
	}
	// A join on a source's only key column finds rows through the state's
	// primary key: no index of its own.
	for _, src := range []string{"users", "products"} {
		s := plan.Source(src)
		if len(s.Indexed) != 0 || !s.KeyedBy(s.Key[0]) {
			t.Errorf("%s indexed %v, keyed by %s: %v", src, s.Indexed, s.Key[0], s.KeyedBy(s.Key[0]))
		}
	}
}

const head = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "${PROJECTOR_POSTGRES_URL}" } }
sources:
  orders:
    topic: o
    key: id
    columns: { id: bigint, user_id: text, status: text, total: "numeric(10,2)" }
  users:
    topic: u
    key: _id
    columns: { _id: text, name: text, age: integer }
views:
`

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name, views string
		want        []string
	}{
		{"unknown column", `
  v:
    from: orders
    fields: { id: id, s: stauts }
    sinks: { postgres: {} }
`, []string{`t.yaml:16:26: v.s: source "orders" has no column "stauts"`}},
		{"join type mismatch", `
  v:
    from: orders
    fields:
      id: id
      customer: { one: users, on: { age: user_id }, fields: { name: name } }
    sinks: { postgres: {} }
`, []string{`t.yaml:18:37: v.customer: join type mismatch: users.age is integer but orders.user_id is text`}},
		{"key template names a non-id field", `
  v:
    from: orders
    fields: { id: id, status: status }
    sinks: { redis: { key: "o:{status}" } }
`, []string{`redis key placeholder {status} must be an id field (id)`}},
		{"invalid expression", `
  v:
    from: orders
    fields:
      id: id
      x: { expr: "status + + ", type: text }
    sinks: { postgres: {} }
`, []string{`t.yaml:18:29: v.x: invalid expression "status + + "`}},
		{"expression type error", `
  v:
    from: orders
    where: status > 3
    fields: { id: id }
    sinks: { postgres: {} }
`, []string{`invalid expression "status > 3"`}},
		{"no id", `
  v:
    from: orders
    fields: { s: status }
    sinks: { postgres: {} }
`, []string{`view "v": no field maps column "id"`}},
		{"agg without array", `
  v:
    from: orders
    fields: { id: id, n: { agg: count, of: things } }
    sinks: { postgres: {} }
`, []string{`v.n: agg over "things" needs a one-to-many field declared before it`}},
		{"several at once", `
  a:
    from: orders
    fields: { id: id, s: nope }
    sinks: { postgres: {} }
  b:
    from: users
    fields: { _id: _id, n: nada }
    sinks: { postgres: {} }
`, []string{`a.s: source "orders" has no column "nope"`, `b.n: source "users" has no column "nada"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := compile(t, head+strings.TrimPrefix(tc.views, "\n"))
			if err == nil {
				t.Fatal("compiled; want errors")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("errors lack %q:\n%v", w, err)
				}
			}
		})
	}
}
