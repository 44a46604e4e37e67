package projector_test

import (
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
)

// TestR16gGroupByJSONBRefused: groups are found by the column's text,
// which for jsonb is not SQL's equality (1 and 1.0 are one group in
// PostgreSQL, two by text; the number 1 and the string "1" two in
// PostgreSQL, one by text): a jsonb group_by is refused, as a numeric
// without a declared scale is.
func TestR16gGroupByJSONBRefused(t *testing.T) {
	want := review10SQL(t, `SELECT count(*)::text FROM (SELECT k FROM (VALUES ('1'::jsonb), ('1.0'::jsonb), ('"1"'::jsonb)) t(k) GROUP BY k) g`)
	if want != "2" {
		t.Fatalf("oracle: %s groups", want)
	}
	cfg, err := config.Parse("g.yaml", []byte(reviewHead+`
sources:
  o: { topic: t.public.o, format: json, key: [id], columns: { id: bigint, k: jsonb } }
views:
  g: { from: o, group_by: k, fields: { k: k, n: { agg: count } }, sinks: { postgres: {} } }
`), nil)
	if err == nil {
		_, err = projections.Compile(cfg)
	}
	if err == nil || !strings.Contains(err.Error(), "group_by k is jsonb") {
		t.Fatalf("a jsonb group_by: %v, want it refused", err)
	}
}
