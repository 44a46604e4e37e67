package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks/postgres"
)

func productsYAML(fields string) string {
	return `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "${PROJECTOR_POSTGRES_URL}" } }
sources:
  products:
    topic: shop.public.products
    key: id
    columns: { id: bigint, name: text, price: "numeric(10,2)", category: text }
views:
  product_view:
    from: products
    fields: { ` + fields + ` }
    sinks: { postgres: {} }
`
}

// TestValidateOnline: against the live tables, a view that only gains a
// field applies online; one that loses or retypes a field needs a rebuild.
func TestValidateOnline(t *testing.T) {
	pool, url := testenv.Postgres(t)
	t.Setenv("PROJECTOR_POSTGRES_URL", url)
	dir := t.TempDir()
	write := func(fields string) string {
		p := filepath.Join(dir, "p.yaml")
		if err := os.WriteFile(p, []byte(productsYAML(fields)), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The table as `projector run` created it.
	cfg, err := config.Load(write("id: id, name: name, price: price"), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sink, err := postgres.New(pool, stack.PostgresViews(plan))
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}

	code, out, errs := run(t, "validate", "-c", write("id: id, name: name, price: price, category: category"))
	if code != ExitOK || !strings.Contains(out, "applies online") {
		t.Errorf("an added field: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = run(t, "validate", "-c", write("id: id, name: name"))
	if code != ExitUsage || !strings.Contains(errs, "price") || !strings.Contains(errs, "rebuild") {
		t.Errorf("a removed field: exit %d, want %d and a rebuild\n%s%s", code, ExitUsage, out, errs)
	}
	code, _, _ = run(t, "validate", "--offline", "-c", write("id: id, name: name"))
	if code != ExitOK {
		t.Errorf("--offline: exit %d, want 0", code)
	}
}
