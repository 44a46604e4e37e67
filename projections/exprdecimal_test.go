package projections

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/expr-lang/expr"
	"github.com/shopspring/decimal"

	"github.com/projectorhq/projector/config"
)

// TestDecimalArithmetic: numeric columns compute exactly, as PostgreSQL's
// numeric does (0.15 * 1.5 is 0.225, 0.10 + 0.20 == 0.30), through every
// operator and builtin that takes numbers, beside integers, floats and
// values the checker cannot type; PostgreSQL's scale rules give the digits
// (a product's scale is the sum of its factors', a quotient has at least
// 16 significant digits).
func TestDecimalArithmetic(t *testing.T) {
	numeric := config.Type{Name: "numeric", Precision: 10, Scale: 2}
	dec := func(s string) any { return ExprValue(numeric, s) }
	declared := map[string]any{}
	row := map[string]any{
		"price": dec("0.15"), "qty": dec("1.5"), "a": dec("0.10"), "b": dec("0.20"), "c": dec("0.30"),
		"ten": dec("10.00"), "neg": dec("-2.45"), "half": dec("2.5"), "big": dec("10.5"), "none": nil,
		"n": int64(3), "dbl": 0.1,
		"prices": ExprValue(config.Type{Name: "numeric", Precision: 10, Scale: 2, Array: true}, []any{"1.50", "2.25"}),
		"items":  []any{map[string]any{"p": dec("1.10"), "q": int64(3)}, map[string]any{"p": dec("0.35"), "q": int64(2)}},
		"mixed":  []any{dec("1.50"), dec("1.5"), 1.5, int64(2), dec("2.0"), 0.1, dec("0.10")},
	}
	for col, v := range row {
		switch v.(type) {
		case decimal.Decimal:
			declared[col] = Sample(numeric)
		case []any:
			declared[col] = []any{}
		case int64:
			declared[col] = int64(0)
		case float64:
			declared[col] = float64(0)
		}
	}
	declared["none"] = float64(0)
	for _, tc := range []struct {
		src  string
		want any // a string: the decimal's text; an error: errors.Is
	}{
		{"price * qty", "0.225"},
		{"a + b == c", true},
		{"a + b != c", false},
		{"a + b", "0.30"},
		{"c - a - b", "0.00"},
		{"ten * 1.1", "11.000"},
		{"ten / n", "3.3333333333333333"},
		{"ten / 4", "2.5000000000000000"},
		{"ten / 0", errDivisionByZero},
		{"ten > 9.99 and ten >= 10 and ten == 10 and ten <= 10.0 and ten < 10.01", true},
		{"ten in [5, 10]", true},
		{"1.5 in prices", true},
		{"2 in prices", false},
		{"-neg", "2.45"},
		{"abs(neg)", "2.45"},
		{"round(half)", "3"},
		{"round(neg)", "-2"},
		{"ceil(neg)", "-2"},
		{"floor(neg)", "-3"},
		{"max(a, b, c)", "0.30"},
		{"min([a, b], c)", "0.10"},
		{"mean([a, b, c])", "0.20000000000000000000"},
		{"median([c, a, b])", "0.20"},
		{"median([a, b])", "0.15000000000000000000"},
		{"sum(prices)", "3.75"},
		{"join(prices, ',')", "1.50,2.25"},
		{"string(sort(prices, 'desc')[0])", "2.25"},
		{"sum(items, #.p * #.q)", "4.00"},
		{"reduce(items, #acc + #.p, 0)", "1.45"},
		{"int(neg)", -2},
		{"float(price)", 0.15},
		{"string(ten)", "10.00"},
		{"toJSON(ten)", "10.00"},
		{"ten ** 2", 100.0},
		{"dbl + a", "0.20"},
		{"n * price", "0.45"},
		{"len(uniq(mixed))", 3},
		{"len(sortBy(items, .p))", 2},
		{"first(sortBy(items, .p)).q", int64(2)},
		{"(none ?? price) * 2", "0.30"},
		{"reduce(1..2000, #acc * big, 1)", errDecimalRange},
	} {
		t.Run(tc.src, func(t *testing.T) {
			opts := append([]expr.Option{expr.Env(declared)}, checkedIntegers()...)
			if _, err := expr.Compile(tc.src, opts...); err != nil {
				t.Fatalf("the checker refuses it: %v", err)
			}
			prog, err := expr.Compile(tc.src, append(opts, runtimeChecks()...)...)
			if err != nil {
				t.Fatal(err)
			}
			x := &Expr{Source: tc.src, Program: prog}
			env := map[string]any{}
			for k, v := range row {
				env[k] = v
			}
			got, err := x.Run(env)
			if want, ok := tc.want.(error); ok {
				if !errors.Is(err, want) {
					t.Fatalf("= %v, %v; want error %v", got, err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d, ok := got.(decimal.Decimal); ok {
				got = DecimalText(d)
			} else if _, wantText := tc.want.(string); wantText && !strings.HasPrefix(tc.src, "string(") && !strings.HasPrefix(tc.src, "toJSON(") && !strings.HasPrefix(tc.src, "join(") {
				t.Fatalf("= %v (%T), want the decimal %v", got, got, tc.want)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("= %#v, want %#v", got, tc.want)
			}
		})
	}
}

// TestDecimalNullOperand: a comparison or arithmetic with a null operand
// fails as expr-lang's own did, naming nil, which the builder reads as a
// null result (not an error worth counting).
func TestDecimalNullOperand(t *testing.T) {
	declared := map[string]any{"price": float64(0), "none": float64(0)}
	row := map[string]any{"price": ExprValue(config.Type{Name: "numeric", Precision: -1, Scale: -1}, "1.5"), "none": nil}
	for _, src := range []string{"price > none", "none > price", "price + none", "none * 2"} {
		opts := append(append([]expr.Option{expr.Env(declared)}, checkedIntegers()...), runtimeChecks()...)
		prog, err := expr.Compile(src, opts...)
		if err != nil {
			t.Fatal(err)
		}
		_, err = (&Expr{Source: src, Program: prog}).Run(row)
		if err == nil || !strings.Contains(err.Error(), "nil") {
			t.Errorf("%s: error %v, want one naming nil", src, err)
		}
	}
}
