package projections_test

import (
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
)

// validateR30g runs what `projector validate --offline` runs: every
// problem of structure and of meaning, together.
func validateR30g(t *testing.T, views string) error {
	t.Helper()
	cfg, err := config.ParseDraftWith("t.yaml", []byte(viewsHead+strings.TrimPrefix(views, "\n")), lookup, config.Options{Offline: true})
	if cfg == nil {
		return err
	}
	_, err = projections.CompileDraft(cfg, err)
	return err
}

// A one-to-one join with neither fields: nor column: is almost always a
// forgotten (or mis-indented) fields: block. validate accepts it and the
// field is {} in every document, whatever the joined row holds.
func TestR30gOneJoinWithoutFieldsOrColumnIsRefused(t *testing.T) {
	err := validateR30g(t, `
  v:
    from: orders
    fields:
      id: id
      customer:
        one: users
        on: { _id: user_id }
    sinks: { postgres: {} }
`)
	if err == nil {
		t.Fatal("a one: join without fields: or column: passes validate; its value is {} in every document")
	}
	if !strings.Contains(err.Error(), "t.yaml:22:7:") {
		t.Errorf("want the problem at the field customer (22:7), got:\n%v", err)
	}
}

// A source column of an unknown type is one mistake, reported at the type;
// an expression reading that column must not get a second, cascading
// problem that leaks Go's type names ("mismatched types
// map[string]interface {} and int").
func TestR30gBadColumnTypeDoesNotCascadeIntoGoTypes(t *testing.T) {
	const cfg = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "${PROJECTOR_POSTGRES_URL}" } }
sources:
  a: { topic: s.public.a, key: id, columns: { id: bigint, x: any } }
views:
  v: { from: a, fields: { id: id, x: x, y: { expr: "x + 1", type: integer } }, sinks: { postgres: {} } }
`
	c, err := config.ParseDraftWith("t.yaml", []byte(cfg), lookup, config.Options{Offline: true})
	if c != nil {
		_, err = projections.CompileDraft(c, err)
	}
	if err == nil {
		t.Fatal("type any accepted")
	}
	if strings.Contains(err.Error(), "map[string]interface") {
		t.Errorf("a cascading problem shows Go types:\n%v", err)
	}
}

// An expr field in a group_by view that reads a column of the rows (not
// a group_by column) is reported once, saying what such an expr sees.
// (Review 30g found an expr of a group_by view reported twice, in two
// wordings; such exprs are allowed since, over the group.)
func TestR30gGroupByExprReportedOnce(t *testing.T) {
	err := validateR30g(t, `
  s:
    from: orders
    group_by: user_id
    fields:
      user_id: user_id
      n: { agg: count }
      twice: { expr: "n * 2 + amount", type: bigint }
    sinks: { postgres: {} }
`)
	if err == nil {
		t.Fatal("an expr reading a column of the rows in a group_by view passes")
	}
	if n := strings.Count(strings.TrimSpace(err.Error()), "\n") + 1; n != 1 || !strings.Contains(err.Error(), "sees its group_by columns and the fields before it") {
		t.Errorf("one mistake, %d problems, want one saying what the expr sees:\n%v", n, err)
	}
}

// agg of: reaches one level of nesting; for a nested array inside an item
// the message says the item "has no field", though it has one of that name.
func TestR30gAggTwoLevelsMessage(t *testing.T) {
	err := validateR30g(t, `
  v:
    from: users
    fields:
      id: _id
      orders:
        many: orders
        on: { user_id: _id }
        fields:
          id: id
          items: { many: items, on: { order_id: id }, fields: { price: price } }
      spent: { agg: sum, of: orders.items.price }
    sinks: { postgres: {} }
`)
	if err == nil {
		return // supported: fine
	}
	if strings.Contains(err.Error(), `has no field "items.price"`) {
		t.Errorf("orders has a field items; the message should say agg of: reaches one level and how to nest the aggregate:\n%v", err)
	}
}

// A user declares columns in PostgreSQL's types; a type mismatch of an
// expr names Go's types instead ("gives time.Time", "[]interface {}",
// "map[string]interface {}", "float64"), and does not say what to write.
func TestR30gExprTypeMismatchNamesSQLTypes(t *testing.T) {
	err := validateR30g(t, `
  v:
    from: users
    fields:
      id: _id
      a: { expr: "info", type: integer }
    sinks: { postgres: {} }
`)
	if err == nil {
		t.Fatal("jsonb as integer passes")
	}
	for _, goName := range []string{"map[string]interface", "[]interface", "time.Time", "float64", "int64"} {
		if strings.Contains(err.Error(), goName) {
			t.Errorf("message names the Go type %s:\n%v", goName, err)
		}
	}
}
