package projtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// head is the start of every test configuration: settings the in-memory
// engine never uses.
const head = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://x/y" } }
`

// runCases writes a config and a test file of cases and runs them as
// `projector test` does; it returns the failures as text.
func runCases(t *testing.T, cfg, cases string) []string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "projector.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	tf := filepath.Join(dir, "t.yaml")
	if err := os.WriteFile(tf, []byte("config: projector.yaml\ncases:\n"+cases), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Parse(tf)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, fl := range res.Failures {
		out = append(out, fl.String())
	}
	return out
}

// expectPass runs cases that must all pass.
func expectPass(t *testing.T, cfg, cases string) {
	t.Helper()
	if fails := runCases(t, cfg, cases); len(fails) > 0 {
		t.Errorf("failures:\n%s", strings.Join(fails, "\n"))
	}
}
