package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/projectorhq/projector/sinks/elasticsearch"
)

// r13cESConfig is a valid configuration with an Elasticsearch store and
// the given views.
func r13cESConfig(t *testing.T, views string) string {
	t.Helper()
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
` + views
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestR13cValidateAcceptsIndexTheSinkRefuses: config's indexProblem takes
// an Elasticsearch index (alias) name of up to 255 bytes, but the sink,
// which names its generation indices <alias>-g<N>, refuses one over 200
// (elasticsearch.validName) with ErrConfig: `projector run` refuses to
// start a file `projector validate` calls ok.
func TestR13cValidateAcceptsIndexTheSinkRefuses(t *testing.T) {
	index := "orders_" + strings.Repeat("x", 220) // 227 bytes
	p := r13cESConfig(t, `  v:
    from: orders
    fields: { id: id, status: status }
    sinks: { elasticsearch: { index: `+index+` } }
`)
	// What `run` builds from a file that decodes: the sink refuses the name.
	if _, err := elasticsearch.New(elasticsearch.Config{URL: "http://127.0.0.1:1"},
		[]elasticsearch.View{{Name: "v", Alias: index}}); err == nil {
		t.Fatal("premise: the sink takes a 227-byte alias")
	}
	code, out, errs := run(t, "validate", "-c", p, "--offline")
	if code != ExitUsage || !strings.Contains(errs, p+":15:") || !strings.Contains(errs, "at most 200 bytes") {
		t.Errorf("validate: exit %d (%s%s), want 2 naming the index at its line", code, strings.TrimSpace(out), errs)
	}
}

// TestR13cValidateAcceptsAliasNamedLikeAnotherViewsIndex: a view's
// Elasticsearch documents live in the index <alias>-g<N> behind the alias
// (README: "indices <alias>-g<N> behind the alias"). A second view whose
// index (alias) is "orders-g1" takes the very name of the first view's
// generation index: Elasticsearch refuses an alias named like an existing
// index (and an index named like an existing alias), so whichever view
// sets up second fails, at every start. validate refuses the PostgreSQL
// counterpart (a table ending like a generation's, __g<N>) but says ok here.
func TestR13cValidateAcceptsAliasNamedLikeAnotherViewsIndex(t *testing.T) {
	p := r13cESConfig(t, `  a:
    from: orders
    fields: { id: id, status: status }
    sinks: { elasticsearch: { index: orders } }
  b:
    from: orders
    fields: { id: id, status: status }
    sinks: { elasticsearch: { index: orders-g1 } }
`)
	code, out, errs := run(t, "validate", "-c", p, "--offline")
	if code != ExitUsage || !strings.Contains(errs, p+":") {
		t.Errorf("validate: exit %d, want %d with a file:line:col problem at view b's index (alias orders-g1 is view a's first generation index)\n%s%s", code, ExitUsage, out, errs)
	}
}
