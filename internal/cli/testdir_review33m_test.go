package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// README, Testing your views: "`projector test DIR` runs the
// `*.yaml`/`*.yml` files with `config:` or `cases:` at their top". A
// directory whose name holds a glob metacharacter ("[id]", as web
// frameworks name route directories, "cases [ci]", "a*b") is globbed as
// a pattern (test.go testFiles: filepath.Glob(filepath.Join(dir,
// "*.yaml")) without escaping dir), matches nothing, and the run fails
// with "no test files (YAML files with config: and cases:)", exit 2,
// although the directory holds a passing test file.
func TestReview33mTestDirWithGlobCharacters(t *testing.T) {
	cfg, err := filepath.Abs("../../examples/shop/projector.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "[id]")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	body := "config: " + cfg + `
cases:
  - name: paid
    given: [{ source: orders, after: { id: 1, user_id: u1, status: paid, total_amount: "1.00" } }]
    expect: { order_view: { "1": { status: paid } } }
`
	if err := os.WriteFile(filepath.Join(dir, "orders.yaml"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runMain(t, "test", dir)
	if code != ExitOK || !strings.Contains(out, "1 passed, 0 failed\n") {
		t.Errorf("projector test %s: exit %d, want 0 and \"1 passed, 0 failed\"\nstdout: %s\nstderr: %s", dir, code, out, errOut)
	}
}
