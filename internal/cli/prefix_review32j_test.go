package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestR32jEveryProblemLineStartsWithItsPlace: withPrefix promises "every
// line of a list of problems in the file starts with its place, for
// editors and CI to read", and the README shows validate's output as
// file:line:col: message. Its pattern for a place, ^[^\s:]+:\d+:\d+: ,
// takes no file name with a space in it (a directory named "My Configs",
// "projector (staging).yaml"), so the first problem of such a file is
// printed after "projector: " and the others are not.
func TestR32jEveryProblemLineStartsWithItsPlace(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "my configs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "p.yaml")
	const file = `version: 1
kafka: { brokers: "localhost:9092", batch_size: [1] }
stores: { postgres: { url: "postgres://localhost/shop" } }
sources:
  orders: { topic: shop.public.orders, key: id, colums: {} }
views:
  order_view: { from: orders, fields: { id: id }, sinks: { postgres: {} } }
`
	if err := os.WriteFile(p, []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := run(t, "validate", "--offline", "-c", p)
	if code != ExitUsage {
		t.Fatalf("validate: exit %d, want %d\n%s", code, ExitUsage, errs)
	}
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	if len(lines) != 2 {
		t.Fatalf("want the two problems of the file, got:\n%s", errs)
	}
	for _, line := range lines {
		if !strings.HasPrefix(line, p+":") {
			t.Errorf("line does not start with its place (%s:line:col):\n%s", p, line)
		}
	}
}
