package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/projectorhq/projector/sinks/elasticsearch"
)

// TestR29dValidateAcceptsMappingBelowAScalarField: a mapping override of
// a dotted path below a field the sink maps as a scalar ("status.raw",
// status a text column, a natural way to ask for another sub-field) makes
// elasticsearch.New refuse the view with ErrConfig ("\"status\" is a text
// field, not an object"), so `projector run` exits 2 at start, without a
// file:line:col. `projector validate` calls the same file ok: config's
// hasFieldPath accepts any path below a column ("a jsonb value holds
// objects") without looking at the column's type. README: validate reports
// every problem as file:line:col and FILE: ok only when everything passed.
func TestR29dValidateAcceptsMappingBelowAScalarField(t *testing.T) {
	p := filepath.Join(t.TempDir(), "p.yaml")
	cfg := `version: 1
kafka: { brokers: "localhost:9092" }
stores:
  postgres: { url: "postgres://x@localhost/db" }
  elasticsearch: { url: "http://127.0.0.1:1" }
sources:
  orders:
    topic: shop.public.orders
    key: id
    columns: { id: bigint, status: text }
views:
  v:
    from: orders
    fields: { id: id, status: status }
    sinks:
      elasticsearch:
        index: orders
        mappings:
          status.raw: { type: keyword }
`
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// What `run` builds from this file: the sink refuses the override.
	_, err := elasticsearch.New(elasticsearch.Config{URL: "http://127.0.0.1:1"}, []elasticsearch.View{{
		Name: "v", Alias: "orders",
		Fields:   []elasticsearch.Field{{Name: "id", Type: "bigint"}, {Name: "status", Type: "text"}},
		Mappings: map[string]any{"status.raw": map[string]any{"type": "keyword"}},
	}})
	if !errors.Is(err, elasticsearch.ErrConfig) {
		t.Fatalf("premise: the sink takes the override: %v", err)
	}
	code, out, errs := run(t, "validate", "-c", p, "--offline")
	if code != ExitUsage || !strings.Contains(errs, p+":19:") {
		t.Errorf("validate: exit %d (%s%s), want %d with a problem at %s:19 (the sink refuses it: %v)", code, strings.TrimSpace(out), errs, ExitUsage, p, err)
	}
}
