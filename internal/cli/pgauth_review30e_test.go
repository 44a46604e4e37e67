package cli

import (
	"net/url"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestR30ePostgresRefusingTheRoleIsAConfigurationError: the query
// PostgreSQL answers and refuses the connection: its role does not exist
// (SQLSTATE 28000; a wrong password is 28P01). No restart fixes that.
//
// validate calls it a problem of the file, at stores.postgres.url, exit 2
// (README, Commands: "one that answers refusing the connection — no such
// database, a wrong password — is a problem at stores.postgres.url").
// Redis refusing its credentials makes `run` refuse to start with exit 2
// (README: "a store setting run refuses at start (Redis credentials, …)";
// stack.checkRedis: "a wrong password ... is a setting no retry fixes").
// `run` on the same file exits 1, a runtime failure, which a restart
// policy retries for ever, where an operator expects the exit status of
// an invalid configuration, as validate and Redis give.
func TestR30ePostgresRefusingTheRoleIsAConfigurationError(t *testing.T) {
	_, base := testenv.Postgres(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("r30e_no_such_role", "r30e-pw")
	t.Setenv("R30E_PG_URL", u.String())
	p := widgetsConfig(t, `kafka: { brokers: "127.0.0.1:1", group: r30e-pg-role }
stores: { postgres: { url: "${R30E_PG_URL}" } }
admin: { listen: off }`, `{ postgres: {} }`)

	code, out, errs := run(t, "validate", "-c", p)
	if code != ExitUsage || !strings.Contains(out+errs, "stores.postgres.url") {
		t.Fatalf("validate: exit %d, want %d at stores.postgres.url (the premise)\n%s%s", code, ExitUsage, out, errs)
	}
	code, _, errs = run(t, "run", "-c", p)
	if code != ExitUsage {
		t.Errorf("run with a PostgreSQL that refuses the role validate calls a configuration problem: exit %d, want %d\n%s", code, ExitUsage, errs)
	}
}
