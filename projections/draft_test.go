package projections_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
)

// A file with a mistake in its structure and another in a view's meaning
// reports both in one run, sorted by position, each once.
func TestCompileDraftReportsEveryProblemAtOnce(t *testing.T) {
	const file = `version: 1
kafka: { brokers: [], group: g }
stores: { postgres: { url: "postgres://localhost/x" } }
sources:
  orders:
    topic: shop.public.orders
    key: id
    columns: { id: bigint, status: text, total: "numeric(10,2)" }
views:
  v:
    from: orders
    where: total + 1
    fields: { id: id, s: stauts }
    sinks: { postgres: {}, redis: { ttl: -1s } }
  w:
    from: nowhere
    fields: { id: id }
    sinks: { postgres: {} }
`
	cfg, err := config.ParseDraft("t.yaml", []byte(file), lookup)
	if cfg == nil || err == nil {
		t.Fatalf("ParseDraft = %v, %v: want a draft with its problems", cfg != nil, err)
	}
	if _, perr := config.Parse("t.yaml", []byte(file), lookup); perr == nil || perr.Error() != err.Error() {
		t.Fatalf("Parse reports\n%v\nParseDraft\n%v\nwant the same problems", perr, err)
	}
	plan, err := projections.CompileDraft(cfg, err)
	if plan != nil {
		t.Fatal("CompileDraft returned a plan for a configuration with problems")
	}
	got := strings.Split(err.Error(), "\n")
	want := []string{
		"t.yaml:2:19: kafka.brokers",
		`t.yaml:12:12: v: invalid expression "total + 1"`,
		`t.yaml:13:26: v.s: source "orders" has no column "stauts"`,
		`t.yaml:14:35: redis sink of view "v" needs a key template`,
		`t.yaml:14:42: redis sink of view "v": ttl must be 0 (none) or at least 1ms`,
		`t.yaml:16:11: unknown source "nowhere"`,
	}
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(got), len(want), err)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d = %q, want it to start with %q", i, got[i], want[i])
		}
	}
	if !errors.Is(err, config.ErrInvalid) {
		t.Errorf("the merged error does not match config.ErrInvalid: %T", err)
	}
}

// A valid configuration compiles the same through CompileDraft.
func TestCompileDraftOfAValidFile(t *testing.T) {
	cfg, err := config.LoadDraft("../examples/shop/projector.yaml", lookup)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.CompileDraft(cfg, nil)
	if err != nil || len(plan.Views) != 2 {
		t.Fatalf("CompileDraft = %v, %v: want the shop's two views", plan, err)
	}
}

// FuzzCompileDraft checks that the compiler neither panics nor hangs on a
// configuration with problems: CompileDraft would then drop the compiler's
// findings and report fewer problems than the file has.
func FuzzCompileDraft(f *testing.F) {
	files, _ := filepath.Glob("../config/testdata/*.yml")
	files = append(files, "../examples/shop/projector.yaml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.ParseDraft("fuzz.yml", data, lookup)
		if cfg == nil {
			return
		}
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("Compile panicked on a draft with problems\n%v\n: %v", err, r)
			}
		}()
		_, _ = projections.Compile(cfg)
	})
}
