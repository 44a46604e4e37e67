package projections

import (
	"errors"
	"math"
	"testing"

	"github.com/expr-lang/expr"
)

// TestBuiltinsOverflowChecked: expr's builtins that add or negate
// integers (sum, with or without a mapping, and abs) fail on overflow as
// the operators do, instead of wrapping around; their other results are
// expr's own.
func TestBuiltinsOverflowChecked(t *testing.T) {
	declared := map[string]any{"min": int64(0), "arr": []any{}, "fs": []any{}, "neg": 0.0}
	row := map[string]any{"min": int64(math.MinInt64), "arr": []any{int64(1), int64(math.MaxInt64)},
		"fs": []any{1.5, int64(2)}, "neg": -2.5, "small": []any{int64(1), int64(2), int64(3)}}
	for _, tc := range []struct {
		src  string
		want any // nil: an overflow
	}{
		{"arr[0] + arr[1]", nil},
		{"sum(arr)", nil},
		{"sum(arr, # * 2)", nil},
		{"abs(min)", nil},
		{"sum(small)", 6},
		{"sum(small, # * 2)", 12},
		{"sum(fs)", 3.5},
		{"abs(-3)", 3},
		{"abs(neg)", 2.5},
	} {
		t.Run(tc.src, func(t *testing.T) {
			opts := append([]expr.Option{expr.Env(declared), expr.AllowUndefinedVariables()}, checkedIntegers()...)
			prog, err := expr.Compile(tc.src, opts...)
			if err != nil {
				t.Fatal(err)
			}
			got, err := expr.Run(prog, row)
			switch {
			case tc.want == nil && !errors.Is(err, ErrIntegerOverflow):
				t.Errorf("= %#v, %v; want ErrIntegerOverflow", got, err)
			case tc.want != nil && (err != nil || got != tc.want):
				t.Errorf("= %#v, %v; want %#v", got, err, tc.want)
			}
		})
	}
}
