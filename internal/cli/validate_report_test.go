package cli

import (
	"context"
	"net/url"
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

// TestValidateSaysOkOnlyWhenEverythingPassed: validate prints "ok" last,
// and only when the store checks passed too; a view that needs a rebuild
// is reported at the view's place in the file, naming it, without an
// "ok" before it; a query PostgreSQL that does not answer skips the store
// checks (validate also runs where only the file is at hand) and says so.
func TestValidateSaysOkOnlyWhenEverythingPassed(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	t.Setenv("PROJECTOR_POSTGRES_URL", pgURL)
	p := filepath.Join(t.TempDir(), "p.yaml")
	write := func(fields string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(productsYAML(fields)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The table as `projector run` created it.
	write("id: id, name: name, price: price")
	cfg, err := config.Load(p, os.LookupEnv)
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

	write("id: id, name: name")
	code, out, errs := run(t, "validate", "-c", p)
	want := p + `:10:3: view "product_view": postgres: column "price" was removed: needs a rebuild`
	if code != ExitUsage || strings.Contains(out, "ok (") || !strings.Contains(errs, want) {
		t.Errorf("a removed field: exit %d, want %d, no ok, and %q\nstdout: %s\nstderr: %s", code, ExitUsage, want, out, errs)
	}

	write("id: id, name: name, price: price, category: category")
	code, out, errs = run(t, "validate", "-c", p)
	if code != ExitOK || !strings.HasSuffix(out, "applies online\n"+p+": ok (1 sources, 1 views)\n") {
		t.Errorf("an added field: exit %d, want ok last\nstdout: %s\nstderr: %s", code, out, errs)
	}

	t.Setenv("PROJECTOR_POSTGRES_URL", "postgres://projector@127.0.0.1:1/nowhere?sslmode=disable&connect_timeout=5")
	code, out, errs = run(t, "validate", "-c", p)
	if code != ExitOK || !strings.Contains(out, "store checks skipped") || !strings.HasSuffix(out, p+": ok (1 sources, 1 views)\n") {
		t.Errorf("no PostgreSQL: exit %d, want 0 saying the store checks were skipped, ok last\nstdout: %s\nstderr: %s", code, out, errs)
	}

	// A PostgreSQL that answers, refusing the database the file names, is
	// a problem of the file, not one that does not answer.
	u, err := url.Parse(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/no_such_database_here"
	t.Setenv("PROJECTOR_POSTGRES_URL", u.String())
	code, out, errs = run(t, "validate", "-c", p)
	if code != ExitUsage || strings.Contains(out, "ok (") || !strings.Contains(errs, `stores.postgres.url: the query PostgreSQL refuses the connection: database "no_such_database_here" does not exist`) {
		t.Errorf("no such database: exit %d, want %d naming it, no ok\nstdout: %s\nstderr: %s", code, ExitUsage, out, errs)
	}
}

// TestValidateOfflineWithoutTheSecrets: validate --offline runs where the
// connections' variables are not set (CI): it checks the rest and says ok;
// without --offline the unset variable is a problem.
func TestValidateOfflineWithoutTheSecrets(t *testing.T) {
	p := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(p, []byte(productsYAML("id: id, name: name")), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PROJECTOR_POSTGRES_URL", "") // restored after the test
	os.Unsetenv("PROJECTOR_POSTGRES_URL")
	code, out, errs := run(t, "validate", "--offline", "-c", p)
	if code != ExitOK || !strings.HasSuffix(out, p+": ok (1 sources, 1 views)\n") {
		t.Errorf("--offline without PROJECTOR_POSTGRES_URL: exit %d, want ok\nstdout: %s\nstderr: %s", code, out, errs)
	}
	code, _, errs = run(t, "validate", "-c", p)
	if code != ExitUsage || !strings.Contains(errs, `"PROJECTOR_POSTGRES_URL" is not set`) {
		t.Errorf("without --offline: exit %d, want %d naming the variable\n%s", code, ExitUsage, errs)
	}
}
