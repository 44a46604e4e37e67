package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestVersion(t *testing.T) {
	code, out, _ := run(t, "version")
	if code != ExitOK || !strings.HasPrefix(out, "projector ") {
		t.Fatalf("version: code %d, out %q", code, out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"frobnicate"}, {"run", "--nope"}, {"version", "extra"}} {
		if code, _, _ := run(t, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
	}
}

func TestValidate(t *testing.T) {
	t.Setenv("PROJECTOR_POSTGRES_URL", "postgres://localhost/x")
	code, out, errs := run(t, "validate", "-c", "../../examples/shop/projector.yaml")
	if code != ExitOK {
		t.Fatalf("example config: exit %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(out, "ok (4 sources, 2 views)") {
		t.Errorf("validate output %q", out)
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte(`version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://localhost/x" } }
sources:
  orders:
    topic: shop.public.orders
    key: id
    columns: { id: bigint, status: text }
views:
  v:
    from: orders
    fields:
      id: id
      state: satus
      bad: { expr: "status +* 1", type: text }
    sinks:
      redis: { key: "order:{status}" }
`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs = run(t, "validate", "-c", bad)
	if code != ExitUsage {
		t.Fatalf("bad config: exit %d, want %d\n%s", code, ExitUsage, errs)
	}
	for _, want := range []string{
		bad + `:14:14: v.state: source "orders" has no column "satus"`,
		bad + `:15:`,
		bad + `:17:`,
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("validate errors lack %q:\n%s", want, errs)
		}
	}
}

func TestInspectSample(t *testing.T) {
	code, out, errs := run(t, "inspect", "--value", "../../../shared/debezium-samples/postgres/create_schemaless.value.json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got struct {
		Kind  string         `json:"kind"`
		Op    string         `json:"op"`
		After map[string]any `json:"after"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Kind != "change" || got.Op != "c" || got.After["name"] != "gadget" {
		t.Errorf("inspect = %s", out)
	}

	tomb := filepath.Join(t.TempDir(), "tombstone")
	if err := os.WriteFile(tomb, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = run(t, "inspect", "--value", tomb)
	if code != ExitOK || !strings.Contains(out, `"tombstone"`) {
		t.Errorf("tombstone: exit %d, %s", code, out)
	}

	junk := filepath.Join(t.TempDir(), "junk")
	if err := os.WriteFile(junk, []byte(`{"payload":{"op":"c","after":`), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := run(t, "inspect", "--value", junk); code != ExitFailure || errs == "" {
		t.Errorf("malformed: exit %d, stderr %q", code, errs)
	}
}

// TestProblemsStartWithTheirPlace: every line of a list of problems in the
// file starts with its file:line:col, the first one too, for editors and
// CI to read; other errors say they come from projector.
func TestProblemsStartWithTheirPlace(t *testing.T) {
	p := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(p, []byte("version: 1\nkafka: { brokers: x }\nsources:\n  Bad: { topic: t }\n  b: { topic: \"a b\" }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := run(t, "validate", "--offline", "-c", p)
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	if code != ExitUsage || len(lines) < 2 {
		t.Fatalf("exit %d, want %d and several problems\n%s", code, ExitUsage, errs)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, p+":") {
			t.Errorf("line %q does not start with the file's place", l)
		}
	}
	if _, _, errs := run(t, "validate", "-c", filepath.Join(t.TempDir(), "nosuch.yaml")); !strings.HasPrefix(errs, "projector: ") {
		t.Errorf("a file not found: %q, want it after projector:", errs)
	}
}
