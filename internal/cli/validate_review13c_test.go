package cli

import (
	"strings"
	"testing"
)

// TestR13cValidatePrintsPasswordTailFromQueryParam: the sibling of
// Review8's bare '@' in the user info, through a password given as a query
// parameter of a URL without a path. pgx (as libpq) ends the user info at
// the first '@' before any '/', even inside what looks like a query: it
// dials the password's tail as the host, and `projector validate` prints
// the connect error, host and all. config's checkURL counts '@' only in
// the text up to the first '/', finds one, and passes the URL. README:
// "validate refuses one left bare: drivers would read its tail as the
// host, and their errors would show it ... no error, log line or /readyz
// quotes a URL's password".
func TestR13cValidatePrintsPasswordTailFromQueryParam(t *testing.T) {
	const tail = "Tail-r13c9f3Kq"
	t.Setenv("R13C_PG_URL", "postgres://127.0.0.1:55432?sslmode=disable&user=postgres&password=s3cr3t@"+tail)
	p := writeConfig(t, storeConfigYAML(`  postgres: { url: "${R13C_PG_URL}" }
  redis: { url: "redis://127.0.0.1:56379/0" }`, `{ key: "product:{id}" }`))
	code, out, errs := run(t, "validate", "-c", p)
	if strings.Contains(out+errs, tail) {
		t.Errorf("validate (exit %d) prints part of the PostgreSQL password (%q):\nstdout: %s\nstderr: %s", code, tail, out, errs)
	}
	if code != ExitUsage {
		t.Errorf("validate: exit %d, want %d (a bare @ in the URL's password)\n%s%s", code, ExitUsage, out, errs)
	}
}
