package cli

import (
	"strings"
	"testing"
)

// TestReview8ValidatePrintsPartOfPostgresPasswordWithAt: a PostgreSQL
// password holding an unencoded '@' (generated passwords often do) taken
// from the environment whole, as the README recommends. net/url (config's
// check) splits userinfo at the LAST '@', pgx (libpq's parser) at the
// FIRST: pgx takes the password's tail as part of the host name
// ("Tail-9f3Kq@127.0.0.1"), and `projector validate` prints the connect
// error, host and all, on stdout ("note: store checks skipped: ... lookup
// Tail-9f3Kq@127.0.0.1: no such host"). Rule: secrets come from the
// environment, never reach logs or validate's output.
func TestReview8ValidatePrintsPartOfPostgresPasswordWithAt(t *testing.T) {
	const tail = "Tail-9f3Kq"
	t.Setenv("REVIEW8_PG_URL", "postgres://postgres:s3cr3t@"+tail+"@127.0.0.1:55432/projector?sslmode=disable")
	p := writeConfig(t, storeConfigYAML(`  postgres: { url: "${REVIEW8_PG_URL}" }
  redis: { url: "redis://127.0.0.1:56379/0" }`, `{ key: "product:{id}" }`))
	code, out, errs := run(t, "validate", "-c", p)
	if strings.Contains(out+errs, tail) {
		t.Errorf("validate (exit %d) prints part of the PostgreSQL password (%q):\nstdout: %s\nstderr: %s", code, tail, out, errs)
	}
	if code != ExitUsage || !strings.Contains(errs, "stores.postgres.url has an @ or / in its user or password, or an @ in its query: write them %40 and %2F") {
		t.Errorf("validate: exit %d, want %d saying how to write the @\n%s", code, ExitUsage, errs)
	}
}
