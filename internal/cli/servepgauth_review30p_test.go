package cli

import (
	"net/url"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestR30pServePostgresRefusingTheRoleIsAConfigurationError: commit
// ea3ba93 made `run` exit 2 when the query PostgreSQL answers and refuses
// the role, its password or the database ("a setting no retry fixes",
// stack.refusedPostgres), as validate reports it at stores.postgres.url.
// `serve` connects to the same PostgreSQL with the same URL at start
// (query.New pings it) and still exits 1, a runtime failure that restart
// policies retry for ever.
func TestR30pServePostgresRefusingTheRoleIsAConfigurationError(t *testing.T) {
	_, base := testenv.Postgres(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("r30p_no_such_role", "r30p-pw")
	t.Setenv("R30P_PG_URL", u.String())
	p := widgetsConfig(t, `kafka: { brokers: "127.0.0.1:1", group: r30p-pg-role }
stores: { postgres: { url: "${R30P_PG_URL}" } }
admin: { listen: off }`, `{ postgres: {} }`)

	code, _, errs := run(t, "run", "-c", p)
	if code != ExitUsage {
		t.Fatalf("run: exit %d, want %d (the premise)\n%s", code, ExitUsage, errs)
	}
	code, _, errs = run(t, "serve", "-c", p, "--listen", "127.0.0.1:0")
	if code != ExitUsage {
		t.Errorf("serve with a PostgreSQL that refuses the role (run: exit %d): exit %d, want %d\n%s", ExitUsage, code, ExitUsage, errs)
	}
}
