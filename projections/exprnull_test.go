package projections

import (
	"errors"
	"testing"

	"github.com/expr-lang/expr"
)

// TestComparisonsWithNull: ==, != and in over a null operand are null
// (ErrNullOperand), for every type, as SQL's; against the nil literal they
// test for null; inside count a guard keeps the count going, as the README
// says.
func TestComparisonsWithNull(t *testing.T) {
	declared := map[string]any{"n": int64(0), "b": false, "items": []any{}}
	env := func() map[string]any {
		return map[string]any{"n": nil, "b": nil, "items": []any{map[string]any{"qty": nil}, map[string]any{"qty": int64(0)}}}
	}
	for src, want := range map[string]any{
		`n != 1`:    ErrNullOperand,
		`n == 1`:    ErrNullOperand,
		`b != true`: ErrNullOperand,
		`n in [1]`:  ErrNullOperand,
		`n == nil`:  true,
		`nil != n`:  false,
		`count(items, .qty != nil and .qty == 0)`: 1,
		`count(items, .qty == 0)`:                 ErrNullOperand,
	} {
		opts := append(append([]expr.Option{expr.Env(declared)}, checkedIntegers()...), runtimeChecks()...)
		prog, err := expr.Compile(src, opts...)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		got, err := (&Expr{Source: src, Program: prog}).Run(env())
		if werr, ok := want.(error); ok {
			if !errors.Is(err, werr) {
				t.Errorf("%s = %v (%v), want %v", src, got, err, werr)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%s = %v (%v), want %v", src, got, err, want)
		}
	}
}
