package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/internal/testenv"
)

// TestR21aRebuildFailureIsReported: a rebuild that rebuild.Run refuses
// (here: a live instance, e.g. one of the previous version during a
// rolling upgrade, computes the view by another definition) must exit
// non-zero and say why, not print "view : generation 0 is active" and
// exit 0.
func TestR21aRebuildFailureIsReported(t *testing.T) {
	ctx := context.Background()
	pool, url := testenv.Postgres(t)
	t.Setenv("PROJECTOR_POSTGRES_URL", url)
	p := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(p, []byte(productsYAML("id: id, name: name")), 0o644); err != nil {
		t.Fatal(err)
	}
	reg := registry.New(pool, "")
	if err := reg.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := reg.Heartbeat(ctx, "r21a-other", "host", 1, 1<<40, nil, map[string]string{"product_view": "another"}); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "rebuild", "product_view", "-c", p, "--yes")
	if code == ExitOK || !strings.Contains(errs, "another definition") {
		t.Fatalf("refused rebuild: exit %d, want %d with the reason\nstdout: %s\nstderr: %s", code, ExitFailure, out, errs)
	}
}
