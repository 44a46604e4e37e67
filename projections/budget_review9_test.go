package projections

import (
	"runtime"
	"strings"
	"testing"

	"github.com/expr-lang/expr"
)

// Expressions: `replace(s, "", s)` and `join(map(1..n, s))`, s text, n
// bigint. Input: s of 6,000 bytes, n = 6,000.
// Expected: an error (null), as for `reduce(1..n, #acc + s, "")`, which
// builds the same 36 MB and fails with ErrTextBudget (README: "an
// evaluation whose string `+` built more than 16 MB of text in all or whose
// ranges and arrays hold more than a million items" is an error, because
// "expressions run while the state is locked").
// Got: both return 36 MB of text without error: the budget (exprrun.go:30)
// counts only the checked +; replace, join (and repeat, see below) build
// text outside it, replace quadratically in its operand's length (a 1 MB
// column gives 1 TB, an out-of-memory crash of the daemon).
func TestReview9TextBudgetBypassedByBuiltins(t *testing.T) {
	declared := map[string]any{"s": "", "n": int64(0)}
	row := func() map[string]any { return map[string]any{"s": strings.Repeat("x", 6000), "n": int64(6000)} }
	for _, src := range []string{`reduce(1..n, #acc + s, "")`, `replace(s, "", s)`, `join(map(1..n, s))`} {
		opts := append(append([]expr.Option{expr.Env(declared)}, checkedIntegers()...), runtimeChecks()...)
		prog, err := expr.Compile(src, opts...)
		if err != nil {
			t.Fatal(err)
		}
		got, err := (&Expr{Source: src, Program: prog}).Run(row())
		if err == nil {
			t.Errorf("%s built %d bytes of text without error; want the %d-byte budget to refuse it", src, len(got.(string)), TextBudget)
		}
	}
}

// Expression: `repeat(s, n)`. Input: s of 64 KiB, n = 1,000.
// Expected: refused before building more than the budget.
// Got: expr's repeat builds all 64 MB (strings.Repeat) and only then
// compares len(s)*n with its memory budget: the allocation is as large as
// the data makes it (a 1 MB column and n = 1,000,000: 1 TB, a crash) even
// though the result is then an error.
func TestReview9RepeatAllocatesBeforeBudget(t *testing.T) {
	declared := map[string]any{"s": "", "n": int64(0)}
	opts := append(append([]expr.Option{expr.Env(declared)}, checkedIntegers()...), runtimeChecks()...)
	prog, err := expr.Compile(`len(repeat(s, n)) > 0`, opts...)
	if err != nil {
		t.Fatal(err)
	}
	x := &Expr{Program: prog}
	env := map[string]any{"s": strings.Repeat("x", 64<<10), "n": int64(1000)}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = x.Run(env)
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2*TextBudget {
		t.Errorf("repeat(s, n) allocated %d MB before failing (%v); want at most the %d MB budget", alloc>>20, err, TextBudget>>20)
	}
}
