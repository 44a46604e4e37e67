package definition

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
)

// readsYAML is a view reading qty, of the given type, only in an
// expression.
func readsYAML(qty string) string {
	return `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  items: { topic: shop.public.items, key: id, columns: { id: bigint, name: text, qty: "` + qty + `" } }
views:
  item_view:
    from: items
    fields: { id: id, label: { expr: "string(qty)", type: text } }
    sinks: { postgres: {} }
`
}

func readsOf(t *testing.T, qty string) Definition {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(readsYAML(qty)), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return Of(cfg, plan.View("item_view"))
}

// TestRetypedSourceColumnNeedsRebuild: a source column's declared type
// decodes the rows its documents are computed from; retyped, though the
// view reads it only in an expression, the documents computed before do
// not follow until a rebuild. A definition recorded without the types (an
// earlier version) tells nothing, and the documents' fingerprint, which
// instances of earlier versions send, leaves them out.
func TestRetypedSourceColumnNeedsRebuild(t *testing.T) {
	before, after := readsOf(t, "bigint"), readsOf(t, "numeric(10,2)")
	if !slices.Equal(slices.Sorted(maps.Keys(before.Reads)), []string{"items.id", "items.qty"}) {
		t.Fatalf("reads %v, want items.id and items.qty", before.Reads)
	}
	c := Diff("item_view", before, after)
	if !c.NeedsRebuild() || len(c.Findings) != 1 || !strings.Contains(c.Findings[0].Text, "items.qty numeric(10,2) (was bigint)") {
		t.Errorf("findings %+v, want items.qty retyped, needing a rebuild", c.Findings)
	}
	earlier := before
	earlier.Reads = nil
	if c := Diff("item_view", earlier, after); len(c.Findings) != 0 {
		t.Errorf("recorded without types: findings %+v, want none", c.Findings)
	}
	if earlier.DocumentsFingerprint() != before.DocumentsFingerprint() {
		t.Errorf("the documents' fingerprint depends on the types read")
	}
}

// TestTypeSpelledOtherwiseIsNotRetyped: a source column's type spelled
// otherwise, or changed to one the decoder reads alike, decoded the
// documents exactly as it would now: nothing to rebuild. A type holding
// values to other bounds is retyped.
func TestTypeSpelledOtherwiseIsNotRetyped(t *testing.T) {
	for _, tc := range [][2]string{
		{"numeric(10)", "numeric(10,0)"},
		{"timestamptz", "timestamptz(6)"},
		{"timestamp(6)", "timestamp"},
		{"varchar(50)", "varchar(100)"},
		{"varchar", "text"},
	} {
		if c := Diff("item_view", readsOf(t, tc[0]), readsOf(t, tc[1])); len(c.Findings) > 0 {
			t.Errorf("%s → %s: findings %+v, want none", tc[0], tc[1], c.Findings)
		}
	}
	for _, tc := range [][2]string{
		{"numeric(10,2)", "numeric(12,2)"},
		{"timestamptz(3)", "timestamptz"},
		{"integer", "bigint"},
	} {
		c := Diff("item_view", readsOf(t, tc[0]), readsOf(t, tc[1]))
		if !c.NeedsRebuild() || len(c.Findings) != 1 || !strings.Contains(c.Findings[0].Text, "items.qty "+tc[1]+" (was "+tc[0]+")") {
			t.Errorf("%s → %s: findings %+v, want items.qty retyped", tc[0], tc[1], c.Findings)
		}
	}
}
