package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// projector test DIR skips the YAML files without config: or cases: at
// their top: a list-topped YAML file beside the tests (a playbook, a
// fixtures list) is not run, and the run exits 0.
func TestTestDirSkipsListYAML(t *testing.T) {
	dir := t.TempDir()
	cfg, err := filepath.Abs("../../examples/shop/projector.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"a.yaml": "config: " + cfg + `
cases:
  - name: paid
    given: [{ source: orders, after: { id: 1, user_id: u1, status: paid, total_amount: "1.00" } }]
    expect: { order_view: { "1": { status: paid } } }
`,
		"playbook.yml": "- hosts: all\n  tasks: []\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := runMain(t, "test", dir)
	if code != ExitOK || !strings.Contains(out, "1 passed, 0 failed\n") {
		t.Errorf("exit %d, want 0 and 1 passed, 0 failed\n%s%s", code, out, errOut)
	}
}
