package projections

import (
	"errors"
	"math"
	"strconv"
	"testing"

	"github.com/expr-lang/expr"
	"github.com/shopspring/decimal"

	"github.com/projectorhq/projector/config"
)

// r34eRun compiles src as the builder's expressions are (checked, then
// with runtimeChecks) over numeric(10,2) columns and a numeric(10,2)[]
// prices, and runs it on row.
func r34eRun(t *testing.T, src string, row map[string]any) (any, error) {
	t.Helper()
	numeric := config.Type{Name: "numeric", Precision: 10, Scale: 2}
	declared := map[string]any{}
	env := map[string]any{}
	for col, v := range row {
		if items, ok := v.([]any); ok {
			declared[col] = Sample(config.Type{Name: "numeric", Precision: 10, Scale: 2, Array: true})
			env[col] = ExprValue(config.Type{Name: "numeric", Precision: 10, Scale: 2, Array: true}, items)
			continue
		}
		declared[col] = Sample(numeric)
		env[col] = ExprValue(numeric, v)
	}
	opts := append([]expr.Option{expr.Env(declared)}, checkedIntegers()...)
	if _, err := expr.Compile(src, opts...); err != nil {
		t.Fatalf("%s: the checker refuses it: %v", src, err)
	}
	prog, err := expr.Compile(src, append(opts, runtimeChecks()...)...)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return (&Expr{Source: src, Program: prog}).Run(env)
}

// TestR34eSortKeepsDecimals: README: "`sortBy`, `groupBy` and `sort`
// order by the nearest float" — they order by it, the items stay the
// numerics they are. sort(prices) gives the items as float64s instead
// (decimalBuiltin patches sort's argument to fnPlain, which converts every
// item), so what is computed from them is a binary float's again:
// sum(sort(prices)) of 0.20 and 0.10 is 0.30000000000000004 (PostgreSQL:
// SELECT sum(x) FROM unnest(ARRAY[0.20, 0.10]) x ORDER BY 1 → 0.30), and
// string(sort(prices)[0]) is "0.1", not "0.10" (string(prices[1]) gives
// "0.10"; sortBy(prices, #) keeps the decimals).
func TestR34eSortKeepsDecimals(t *testing.T) {
	row := map[string]any{"prices": []any{"0.20", "0.10"}}
	for _, tc := range []struct{ src, want string }{
		{"sum(sort(prices))", "0.30"},
		{"string(sort(prices)[0])", "0.10"},
		{"string(last(sort(prices)))", "0.20"},
	} {
		got, err := r34eRun(t, tc.src, row)
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		if d, ok := got.(decimal.Decimal); ok {
			got = DecimalText(d)
		}
		if got != tc.want {
			t.Errorf("%s = %#v (%T), want %s", tc.src, got, got, tc.want)
		}
	}
}

// TestR34eDecimalBoundCountsWholeDigits: README: "A decimal beyond 1,000
// digits is an error (a `reduce` multiplying one by itself)". bounded
// counts the coefficient's digits (NumDigits) and a negative exponent, not
// a positive one: a float literal beside a decimal is read as its shortest
// decimal, 1e300 a coefficient of 1 at exponent 300, so price * 1e300 *
// 1e300 * 1e300 * 1e300 is a 1,200-digit value, not an error, and
// reduce(1..N, #acc * 1e300, price) grows by 300 digits a step at no cost
// until something writes or compares it (string, a numeric field,
// > 1): each materialises 10^(300·N), up to 3·10^8 digits within the
// million-item range budget — minutes to hours of big-integer arithmetic
// while the state is locked, and a string of hundreds of megabytes.
func TestR34eDecimalBoundCountsWholeDigits(t *testing.T) {
	row := map[string]any{"price": "1.50"}
	for _, src := range []string{
		"price * 1e300 * 1e300 * 1e300 * 1e300",
		"reduce(1..4, #acc * 1e300, price)",
		"len(string(reduce(1..10, #acc * 1e300, price)))",
	} {
		got, err := r34eRun(t, src, row)
		if !errors.Is(err, errDecimalRange) {
			if d, ok := got.(decimal.Decimal); ok {
				got = len(DecimalText(d))
			}
			t.Errorf("%s = %v, %v; want the error %v (a value of more than 1,000 digits)", src, got, err, errDecimalRange)
		}
	}
}

// TestR34eMedianIsNotQuadratic: median sorts its decimals with an
// insertion sort (sortDecimals), quadratic in their number: over
// map(1..N, -# * price) (descending) it takes 3.3 s for N = 20,000 and
// 13 s for 40,000, so the million items an evaluation may hold would take
// hours while the state is locked (README: "expressions run while the
// state is locked", hence "uniq and trim take linear time"). Counted
// without a clock: comparing two decimals of different scales rescales
// one (an allocation), and the items alternate scales, so allocations
// count comparisons; quadrupling N must not multiply them by 16.
func TestR34eMedianIsNotQuadratic(t *testing.T) {
	row := map[string]any{"price": "1.50", "qty": "2.5"} // scales 2 and 1
	allocs := func(n int) float64 {
		src := "median(map(1.." + strconv.Itoa(n) + ", # % 2 == 0 ? -# * price : -# * qty))"
		numeric := config.Type{Name: "numeric", Precision: 10, Scale: 2}
		declared := map[string]any{"price": Sample(numeric), "qty": Sample(numeric)}
		env := map[string]any{"price": ExprValue(numeric, row["price"]), "qty": ExprValue(numeric, row["qty"])}
		opts := append([]expr.Option{expr.Env(declared)}, checkedIntegers()...)
		prog, err := expr.Compile(src, append(opts, runtimeChecks()...)...)
		if err != nil {
			t.Fatal(err)
		}
		x := &Expr{Source: src, Program: prog}
		return testing.AllocsPerRun(1, func() {
			if _, err := x.Run(env); err != nil {
				t.Fatal(err)
			}
		})
	}
	small, large := allocs(1000), allocs(4000)
	ratio := large / small
	t.Logf("allocations: %.0f for 1,000 items, %.0f for 4,000 (×%.1f)", small, large, ratio)
	if ratio > 8 || math.IsNaN(ratio) {
		t.Errorf("allocations grow ×%.1f for 4× the items: median is quadratic in its items (an n log n sort grows about ×4.8)", ratio)
	}
}
