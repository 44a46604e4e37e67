package cli

import (
	"net/url"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestR33cGenerationsRefusedDatabaseIsUsage: README, Commands: "Exit
// codes: 0 ok, 1 runtime failure, 2 bad usage or invalid configuration,
// including a store setting `run` refuses at start (PostgreSQL refusing
// the role, its password or the database, which `serve` and `rebuild`
// refuse too …)".
//
// With stores.postgres.url naming a database the server does not have,
// `run`, `serve`, `rebuild`, `query` and `validate` all exit 2 (no retry
// fixes it: the URL is wrong), but `projector generations` exits 1, as if
// it were an outage worth retrying: "projector: postgres: registry: look
// for its tables: failed to connect to `user=… database=…`: … FATAL:
// database "…" does not exist (SQLSTATE 3D000)". A script or a Job that
// tells a configuration error from a transient one by the exit status
// (README's own distinction) retries it forever. Fix
// (internal/cli/generations.go): map stack.RefusedPostgres(err) to a usage
// error, as rebuild.go does.
func TestR33cGenerationsRefusedDatabaseIsUsage(t *testing.T) {
	u, err := url.Parse(testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + testenv.Name("r33c_missing_") // a database the server does not have
	t.Setenv("R33C_PG_URL", u.String())
	file := widgetsConfig(t, `kafka: { brokers: "127.0.0.1:1", group: r33c-gen }
stores: { postgres: { url: "${R33C_PG_URL}" } }
admin: { listen: off }`, `{ postgres: {} }`)

	code, out, errs := run(t, "generations", "-c", file)
	if !strings.Contains(errs, "does not exist") {
		t.Fatalf("generations against a missing database: exit %d, no word of it\n%s%s", code, out, errs)
	}
	if code != ExitUsage {
		t.Errorf("generations against a database the server does not have: exit %d, want %d (a configuration error, as run, serve, rebuild and query say)\n%s",
			code, ExitUsage, errs)
	}
	// The other commands, for comparison: a usage error.
	if code, _, errs := run(t, "rebuild", "widget_view", "--yes", "-c", file); code != ExitUsage {
		t.Errorf("rebuild against the same database: exit %d, want %d\n%s", code, ExitUsage, errs)
	}
}
