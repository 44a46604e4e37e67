package projections

import (
	"runtime"
	"strings"
	"testing"

	"github.com/expr-lang/expr"
)

// TestR19aSplitBeyondItemBudget: the README promises that an evaluation
// "whose ranges and arrays hold more than a million items" is an error (null,
// counted), and expr's memory budget enforces it for ranges, map, concat,
// flatten... but split and splitAfter are plain builtins that count
// nothing, and runtimeChecks/textCall (exprruntime.go, exprtext.go:73-89)
// leave them alone. split(s, ",") of a 1.2 MB text column returns 1.2
// million strings; split(repeat(s, n), "") within the 16 MB text budget
// returns 16 million (256 MB of string headers) per evaluation, while the
// state is locked.
func TestR19aSplitBeyondItemBudget(t *testing.T) {
	declared := map[string]any{"s": ""}
	src := `split(s, ",")`
	opts := append(append([]expr.Option{expr.Env(declared)}, checkedIntegers()...), runtimeChecks()...)
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		t.Fatal(err)
	}
	x := &Expr{Source: src, Program: prog}
	env := map[string]any{"s": strings.Repeat(",", 1_200_000)}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got, err := x.Run(env)
	runtime.ReadMemStats(&after)
	if parts, ok := got.([]string); ok && err == nil && len(parts) > 1_000_000 {
		t.Errorf("%s over a %d-byte column gave %d items (allocating %d MB) and no error; want the memory budget's error past a million items",
			src, len(env["s"].(string)), len(parts), (after.TotalAlloc-before.TotalAlloc)>>20)
	}
}
