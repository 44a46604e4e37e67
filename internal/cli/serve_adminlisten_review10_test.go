package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestReview10ServeBadAdminListenIsUsage: `projector serve --admin-listen
// bogus` is bad usage, exactly as admin.listen: bogus in the file (which
// validation refuses, exit 2) and `serve --listen bogus` are. README
// "Commands": "Exit codes: … 2 bad usage or invalid configuration". The
// flag overrides cfg.Admin.Listen after the configuration was validated
// (serve.go RunE), and serveQueries maps any admin listener error to
// ExitFailure (serve.go, the serveAdmin error branch): exit 1, as if a
// restart might cure it, after the query API was already started.
func TestReview10ServeBadAdminListenIsUsage(t *testing.T) {
	_, url := testenv.Postgres(t)
	t.Setenv("PROJECTOR_POSTGRES_URL", url)
	p := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(p, []byte(productsYAML("id: id, name: name")), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := run(t, "serve", "-c", p, "--listen", "127.0.0.1:0", "--admin-listen", "bogus")
	if code != ExitUsage || !strings.Contains(errs, "bogus") {
		t.Errorf("serve --admin-listen bogus: exit %d, want %d naming the address\n%s", code, ExitUsage, errs)
	}
}
