package projections

import (
	"runtime"
	"strings"
	"testing"

	"github.com/expr-lang/expr"
)

// TestR15aRegexFromRowUnbudgeted: `name matches pattern`, both text
// columns. expr compiles a pattern that is not a constant at every
// evaluation, and Go's regexp compiles repeats by copying: a 21 KB
// pattern value ("a{1000}" 3,000 times) allocates about 700 MB and takes
// about a second, per row, while the state is locked. Builtins that build
// text are bounded by TextBudget (exprtext.go) for that very reason; a
// pattern from a row is not bounded at all.
func TestR15aRegexFromRowUnbudgeted(t *testing.T) {
	declared := map[string]any{"name": "", "pattern": ""}
	src := `name matches pattern`
	opts := append(append([]expr.Option{expr.Env(declared)}, checkedIntegers()...), runtimeChecks()...)
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		t.Fatal(err)
	}
	x := &Expr{Source: src, Program: prog}
	env := map[string]any{"name": "b", "pattern": strings.Repeat("a{1000}", 3000)}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got, err := x.Run(env)
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2*TextBudget {
		t.Errorf("%s with a %d-byte pattern allocated %d MB (result %v, %v); want an error within the %d MB budget", src, len(env["pattern"].(string)), alloc>>20, got, err, TextBudget>>20)
	}
}
