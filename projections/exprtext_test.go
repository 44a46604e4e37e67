package projections

import (
	"testing"

	"github.com/expr-lang/expr"
)

// TestTextBuiltinsAsExprs: the budgeted replace, repeat and join give what
// expr's own do, shrinking replacements and separators included.
func TestTextBuiltinsAsExprs(t *testing.T) {
	env := map[string]any{"s": "a-b-c", "parts": []any{"x", "y", "z"}, "n": int64(3)}
	for src, want := range map[string]string{
		`replace(s, "-", "")`:           "abc",
		`replace(s, "-", "--")`:         "a--b--c",
		`replace(s, "", ".")`:           ".a.-.b.-.c.",
		`repeat("ab", n)`:               "ababab",
		`repeat(s, 0)`:                  "",
		`join(parts)`:                   "xyz",
		`join(parts, ", ")`:             "x, y, z",
		`join(map(parts, # + "!"), "")`: "x!y!z!",
	} {
		opts := append(append([]expr.Option{expr.Env(map[string]any{"s": "", "parts": []any{}, "n": int64(0)})}, checkedIntegers()...), runtimeChecks()...)
		prog, err := expr.Compile(src, opts...)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		run := map[string]any{}
		for k, v := range env {
			run[k] = v
		}
		got, err := (&Expr{Source: src, Program: prog}).Run(run)
		if err != nil || got != want {
			t.Errorf("%s = %v (%v), want %q", src, got, err, want)
		}
	}
}
