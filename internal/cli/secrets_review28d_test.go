package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestR28dSourceURLPasswordWithBareAtIsNotShown: README (Against your own
// cluster) promises that "no error, log line or /readyz quotes a URL's
// password", and validate refuses a store URL whose password holds a bare
// '@' because "drivers would read its tail as the host, and their errors
// would show it". The source database's URL of `rebuild --from source`
// (--source-url, $PROJECTOR_SOURCE_URL) gets no such check: pgx reads the
// user info up to the first '@', dials a host made of the password's tail,
// and the rebuild's error prints that tail on stderr.
func TestR28dSourceURLPasswordWithBareAtIsNotShown(t *testing.T) {
	_, url := testenv.Postgres(t)
	t.Setenv("PROJECTOR_POSTGRES_URL", url)
	const tail = "Zq8vTailOfThePassword"
	t.Setenv(sourceURLEnv, "postgres://shop:k3y@"+tail+"@127.0.0.1:1/shop")
	p := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(p, []byte(productsYAML("id: id, name: name")), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "rebuild", "product_view", "-c", p, "--yes", "--from", "source")
	if strings.Contains(out+errs, tail) {
		t.Errorf("rebuild --from source (exit %d) shows the source URL's password (its tail after a bare '@'):\nstdout: %s\nstderr: %s", code, out, errs)
	}
	if code == ExitOK {
		t.Errorf("rebuild from an unreachable source: exit 0")
	}
}

// TestR28dStoreURLPasswordWithSlashIsNotShown: a password holding a bare
// '/' (as generated base64 passwords do; here one starting with it) ends
// the URL's authority early for Go and the drivers alike, so what follows
// it — the rest of the password — is read as the path. validate's check
// for a bare '@' (bareAt) looks only before the first '/', so it lets the
// URL through, and then:
//   - redis: go-redis refuses the path and validate prints it, password
//     included ("invalid URL path: /<password>@host:6379/0"), even offline;
//   - postgres: pgx takes the path as the database name, and validate's
//     note (as `run`'s error and /readyz would) shows
//     "database=<password>@host/db" — and says "ok", exit 0.
//
// README: "A password in a URL is percent-encoded (... validate refuses
// one left bare: drivers would read its tail as the host, and their errors
// would show it); no error, log line or /readyz quotes a URL's password."
func TestR28dStoreURLPasswordWithSlashIsNotShown(t *testing.T) {
	const pw = "R28dPassw0rdTail"
	for _, tc := range []struct {
		name, stores string
		args         []string
	}{
		{"redis offline", `  postgres: { url: "postgres://app@127.0.0.1:1/shop" }
  redis: { url: "redis://:/` + pw + `@127.0.0.1:56379/0" }`, []string{"--offline"}},
		{"postgres online", `  postgres: { url: "postgres://app:/` + pw + `@127.0.0.1:1/shop" }`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeConfig(t, storeConfigYAML(tc.stores, `{ key: "product:{id}" }`))
			args := append(append([]string{"validate"}, tc.args...), "-c", p)
			code, out, errs := run(t, args...)
			if strings.Contains(out+errs, pw) {
				t.Errorf("projector %s: exit %d, its output shows the URL's password:\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
			}
		})
	}
}
