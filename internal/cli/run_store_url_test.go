package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestRunInvalidStoreURLIsUsage: a store URL its driver refuses is an
// invalid configuration (exit 2) for `run` as for `query`, not a runtime
// failure.
func TestRunInvalidStoreURLIsUsage(t *testing.T) {
	_, url := testenv.Postgres(t)
	t.Setenv("PROJECTOR_POSTGRES_URL", url)
	p := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(p, []byte(`version: 1
kafka: { brokers: "127.0.0.1:1" }
admin: { listen: "127.0.0.1:0" }
stores:
  postgres: { url: "${PROJECTOR_POSTGRES_URL}" }
  redis: { url: "redis://127.0.0.1:56379/abc" }
sources:
  products:
    topic: shop.public.products
    key: id
    columns: { id: bigint, name: text }
views:
  product_view:
    from: products
    fields: { id: id, name: name }
    sinks:
      postgres: {}
      redis: { key: "product:{id}" }
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"run", "-c", p}, {"query", "-c", p, "product_view", "1"}} {
		code, _, errs := run(t, args...)
		if code != ExitUsage || !strings.Contains(errs, "redis") {
			t.Errorf("%s with an invalid redis url: exit %d, want %d naming redis\n%s", args[0], code, ExitUsage, errs)
		}
	}
}
