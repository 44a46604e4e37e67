package projections

import (
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/expr-lang/expr"
)

// TestCheckedIntegers: an expression's integer +, -, * and unary - fail
// on overflow (PostgreSQL's "bigint out of range") instead of wrapping
// around, also where the checker cannot tell the operands' types (a source
// without declared columns); other operands compute as expr-lang's do.
func TestCheckedIntegers(t *testing.T) {
	ts := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	declared := map[string]any{"max": int64(0), "min": int64(0), "n": int64(0), "f": float64(0),
		"s": "", "ts": time.Time{}, "arr": []any{}}
	row := map[string]any{"max": int64(math.MaxInt64), "min": int64(math.MinInt64), "n": int64(7),
		"f": 1.5, "s": "ab", "ts": ts, "arr": []any{int64(1), int64(math.MaxInt64)},
		"u": int64(math.MaxInt64), "uf": 0.5}
	for _, tc := range []struct {
		name, src string
		want      any // an error: errors.Is
	}{
		{"add overflow", "max + 1", ErrIntegerOverflow},
		{"add overflow negative", "min + -1", ErrIntegerOverflow},
		{"sub overflow", "min - 1", ErrIntegerOverflow},
		{"sub overflow positive", "max - -1", ErrIntegerOverflow},
		{"mul overflow", "max * 2", ErrIntegerOverflow},
		{"mul min by -1", "min * -1", ErrIntegerOverflow},
		{"mul -1 by min", "-1 * min", ErrIntegerOverflow},
		{"negate min", "-min", ErrIntegerOverflow},
		{"nested", "(n + 1) * max", ErrIntegerOverflow},
		{"in a predicate", "map(arr, # + n)", ErrIntegerOverflow},
		{"undeclared", "u + 1", ErrIntegerOverflow},
		{"add at the edge", "max + 0", math.MaxInt64},
		{"sub at the edge", "min + 1 - 1", math.MinInt64},
		{"mul at the edge", "min * 1", math.MinInt64},
		{"negate", "-max", -math.MaxInt64},
		{"literal", "-5 * n + 3", -32},
		{"len", "len(s) * n", 14},
		{"float", "max + f", float64(math.MaxInt64) + 1.5},
		{"undeclared float", "uf + 1", 1.5},
		{"text", "s + 'c'", "abc"},
		{"durations", "duration('1h') + duration('1m')", time.Hour + time.Minute},
		{"time", "ts + duration('1h') - duration('30m')", ts.Add(30 * time.Minute)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]expr.Option{expr.Env(declared), expr.AllowUndefinedVariables()}, checkedIntegers()...)
			prog, err := expr.Compile(tc.src, opts...)
			if err != nil {
				t.Fatal(err)
			}
			got, err := expr.Run(prog, row)
			if want, ok := tc.want.(error); ok {
				if !errors.Is(err, want) {
					t.Errorf("= %v, %v; want error %v", got, err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("= %#v, want %#v", got, tc.want)
			}
		})
	}
}

// TestCheckedIntegersKeepTypes: the rewritten operators type-check as the
// operators did, so validate's checks of a field's type are unchanged.
func TestCheckedIntegersKeepTypes(t *testing.T) {
	env := map[string]any{"n": int64(0), "f": float64(0), "s": ""}
	for src, want := range map[string]reflect.Kind{
		"n + 1": reflect.Int, "-n": reflect.Int64, "n * n - 1": reflect.Int, "n + f": reflect.Float64, "s + s": reflect.String,
	} {
		prog, err := expr.Compile(src, append([]expr.Option{expr.Env(env)}, checkedIntegers()...)...)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if got := prog.Node().Type().Kind(); got != want {
			t.Errorf("%s: type %s, want %s", src, got, want)
		}
	}
	if _, err := expr.Compile("s * 2", append([]expr.Option{expr.Env(env)}, checkedIntegers()...)...); err == nil {
		t.Error("s * 2 compiles; want a type error")
	}
}
