package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestTestExampleCases: the example's shipped cases pass.
func TestTestExampleCases(t *testing.T) {
	code, out, errOut := runMain(t, "test", "../../examples/shop/tests")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "5 passed, 0 failed") {
		t.Errorf("summary: %q", out)
	}
}

func writeCases(t *testing.T, body string) string {
	t.Helper()
	abs, err := filepath.Abs("../../examples/shop/projector.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cases.yaml")
	if err := os.WriteFile(path, []byte("config: "+abs+"\n"+body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTestReportsFailures: each unmet expectation is reported at its
// file:line, with the value found, and the exit status is 1.
func TestTestReportsFailures(t *testing.T) {
	path := writeCases(t, `cases:
  - name: good
    given:
      - { source: orders, after: { id: 1, user_id: u1, status: paid, total_amount: "10.00" } }
    expect:
      order_view: { "1": { status: paid, total_amount: 10 } }
  - name: wrong
    given:
      - { source: users, after: { _id: u1, name: Bob } }
      - { source: orders, after: { id: 1, user_id: u1, status: paid, total_amount: "10.00" } }
      - { source: orders, after: { id: 2, user_id: u1, status: cancelled } }
    expect:
      order_view:
        "1":
          customer: { name: Ada }
          total_amount: "10.01"
        "3": {}
    absent:
      order_view: ["1", "2"]
`)
	code, out, errOut := runMain(t, "test", path)
	if code != ExitFailure {
		t.Fatalf("exit %d, want %d\n%s%s", code, ExitFailure, out, errOut)
	}
	for _, want := range []string{
		path + `:16: case "wrong": view order_view doc 1: field customer.name = "Bob", want "Ada"`,
		path + `:17: case "wrong": view order_view doc 1: field total_amount = "10.00", want "10.01"`,
		path + `:18: case "wrong": view order_view doc 3: missing, want a document`,
		path + `:20: case "wrong": view order_view doc 1: present, want absent`,
		"1 passed, 1 failed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "doc 2: present") {
		t.Errorf("the cancelled order is reported present:\n%s", out)
	}
}

// TestTestMalformed: a test file that cannot run exits 2, naming the line.
func TestTestMalformed(t *testing.T) {
	for name, body := range map[string]string{
		"unknown view": "cases:\n  - name: x\n    given: []\n    expect: { nope: { \"1\": {} } }\n",
		"bad op":       "cases:\n  - name: x\n    given: [{ source: orders, op: z, after: { id: 1 } }]\n    expect: { order_view: { \"1\": {} } }\n",
		"bad yaml":     "cases: [\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := writeCases(t, body)
			code, out, errOut := runMain(t, "test", path)
			if code != ExitUsage {
				t.Fatalf("exit %d, want %d\n%s%s", code, ExitUsage, out, errOut)
			}
			if !strings.Contains(errOut, path+":") {
				t.Errorf("error does not name the file: %s", errOut)
			}
		})
	}
}

// TestTestMissingBlockDocLine: a missing doc written in block style is
// reported at its id's line.
func TestTestMissingBlockDocLine(t *testing.T) {
	path := writeCases(t, `cases:
  - name: block
    given:
      - { source: orders, after: { id: 1, user_id: u1, status: paid } }
    expect:
      order_view:
        "9":
          status: paid
`)
	code, out, errOut := runMain(t, "test", path)
	if code != ExitFailure {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	want := path + `:8: case "block": view order_view doc 9: missing, want a document`
	if !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
}

// TestTestDirectory: a directory runs its test files and skips the other
// YAML files, such as the projector config beside them; a malformed file
// does not stop the others, and the summary counts it (exit 2).
func TestTestDirectory(t *testing.T) {
	dir := t.TempDir()
	cfg, err := os.ReadFile("../../examples/shop/projector.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"projector.yaml": string(cfg),
		"a.yaml": `config: projector.yaml
cases:
  - name: paid
    given: [{ source: orders, after: { id: 1, user_id: u1, status: paid, total_amount: "1.00" } }]
    expect: { order_view: { "1": { status: paid } } }
`,
		"b.yml": `config: projector.yaml
cases:
  - name: wrong
    given: [{ source: orders, after: { id: 1, user_id: u1, status: paid, total_amount: "1.00" } }]
    expect: { order_view: { "1": { status: shipped } } }
`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := runMain(t, "test", dir)
	if code != ExitFailure || !strings.Contains(out, "1 passed, 1 failed\n") {
		t.Fatalf("exit %d, want %d and 1 passed, 1 failed\n%s%s", code, ExitFailure, out, errOut)
	}
	bad := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(bad, []byte("config: projector.yaml\ncases:\n  - name: [x]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runMain(t, "test", dir)
	if code != ExitUsage {
		t.Fatalf("exit %d, want %d\n%s%s", code, ExitUsage, out, errOut)
	}
	if !strings.Contains(out, `b.yml:5: case "wrong"`) || !strings.Contains(out, "1 passed, 1 failed, 1 malformed file not run") {
		t.Errorf("the other files' results or the summary are missing:\n%s", out)
	}
	if !strings.Contains(errOut, bad+":3:11: name:") {
		t.Errorf("the malformed file is not reported at its line:\n%s", errOut)
	}
}
