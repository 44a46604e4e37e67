package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestRunBadServeAddressIsUsage: an invalid --serve address is bad
// usage (exit 2), as `projector serve --listen` with the same address is,
// told before anything connects.
func TestRunBadServeAddressIsUsage(t *testing.T) {
	_, url := testenv.Postgres(t)
	t.Setenv("PROJECTOR_POSTGRES_URL", url)
	p := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(p, []byte(productsYAML("id: id, name: name")), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := run(t, "serve", "-c", p, "--listen", "bogus")
	if code != ExitUsage {
		t.Fatalf("serve --listen bogus: exit %d, want %d\n%s", code, ExitUsage, errs)
	}
	code, _, errs = run(t, "run", "-c", p, "--serve", "bogus")
	if code != ExitUsage || !strings.Contains(errs, "bogus") {
		t.Errorf("run --serve bogus: exit %d, want %d\n%s", code, ExitUsage, errs)
	}
}
