package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestR27dDemoOfEditedExampleFile: README, Commands: "projector demo -c
// FILE: ... the example's file shows its views and Redis keys, another file
// reading the shop's topics the first documents of each of its PostgreSQL
// views". A copy of the example with one field taken out (item_count) is a
// valid file reading the shop's topics, yet demo treats it as "the
// example's file" because its views are named order_view and
// user_order_stats, runs showShop's fixed SQL (SELECT ... item_count FROM
// order_view) against it and exits 1 after projecting everything.
//
// Private servers: demo drops projector_demo and clears order:* keys.
func TestR27dDemoOfEditedExampleFile(t *testing.T) {
	pg := testenv.PrivatePostgres(t)
	rd := testenv.PrivateRedis(t)
	t.Setenv("PROJECTOR_POSTGRES_URL", pg.URL())
	t.Setenv("PROJECTOR_REDIS_URL", rd.URL())
	t.Setenv("PROJECTOR_ELASTICSEARCH_URL", "")
	t.Setenv("PROJECTOR_ADMIN_LISTEN", "127.0.0.1:0")
	example, err := os.ReadFile("../../examples/shop/projector.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const line = "      item_count: { agg: count, of: items }\n"
	if !strings.Contains(string(example), line) {
		t.Fatalf("the example no longer has %q", line)
	}
	edited := filepath.Join(t.TempDir(), "shop.yaml")
	if err := os.WriteFile(edited, []byte(strings.Replace(string(example), line, "", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := run(t, "validate", "--offline", "-c", edited); code != ExitOK {
		t.Fatalf("the edited example does not validate: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs := run(t, "demo", "-c", edited, "--users", "20", "--orders", "20", "--changes", "50")
	if code != ExitOK {
		t.Fatalf("demo of the example without item_count: exit %d, want 0\nstdout:\n%s\nstderr (tail):\n%s",
			code, out, r27dTail(errs, 3))
	}
}

func r27dTail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
