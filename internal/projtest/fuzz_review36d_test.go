package projtest

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// r36dProblemLine is how every line of a malformed file's report starts.
var r36dProblemLine = regexp.MustCompile(`^(malformed test file: )?t\.yaml:\d+:\d+: `)

// FuzzR36DTestFile: a test file of any content neither panics nor hangs
// `projector test`; a malformed one has each of its problems at a
// t.yaml:line:col.
func FuzzR36DTestFile(f *testing.F) {
	shop, err := os.ReadFile("../../examples/shop/tests/orders.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(strings.Replace(string(shop), "../projector.yaml", "projector.yaml", 1))
	f.Add("config: projector.yaml\ncases:\n  - name: a\n    now: 2024-06-01\n    given:\n      - &r { source: orders, after: { id: 1, user_id: u1, status: paid, total_amount: \"1.00\" } }\n      - { source: orders, op: u, after: { <<: *r, status: x } }\n      - now: 2024-07-01T00:00:00Z\n    expect: { order_view: { '1': { status: x } } }\n    absent: { user_order_stats: [u1] }\n")
	f.Add("config: projector.yaml\ncases:\n  - name: raw\n    given:\n      - { topic: shop.public.orders, key: '{\"id\":1}', value: null, headers: { __op: d, __lsn: 200 } }\n    absent: { order_view: ['[1]'] }\n")
	shopCfg, err := os.ReadFile("../../examples/shop/projector.yaml")
	if err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "projector.yaml"), shopCfg, 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data string) {
		path := filepath.Join(t.TempDir(), "t.yaml")
		if err := os.WriteFile(path, []byte(strings.ReplaceAll(data, "config: projector.yaml", "config: "+filepath.Join(dir, "projector.yaml"))), 0o644); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		file, err := Parse(path)
		if err == nil {
			_, err = Run(t.Context(), file)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("took %v", d)
		}
		if !errors.Is(err, ErrMalformed) {
			return
		}
		msg := strings.ReplaceAll(err.Error(), path, "t.yaml")
		for _, line := range strings.Split(msg, "\n") {
			if strings.HasPrefix(line, "t.yaml:") || strings.HasPrefix(line, "malformed test file: t.yaml:") {
				// An empty file is reported at t.yaml:1 (TestR36DEmptyFileAtLineAndColumn).
				if !r36dProblemLine.MatchString(line) && !strings.HasSuffix(line, ":1: empty file") {
					t.Fatalf("a problem without its line and column: %q in\n%s", line, msg)
				}
			}
		}
	})
}
