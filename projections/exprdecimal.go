package projections

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/vm/runtime"
	"github.com/shopspring/decimal"
)

// Expressions compute a numeric column's value exactly, as PostgreSQL's
// numeric does: 0.15 * 1.5 is 0.225 (a float64 gives 0.22499999999999998,
// which rounds to 0.22 in a numeric(10,2) field), and 0.10 + 0.20 == 0.30.
// A numeric reaches an expression as a decimal.Decimal (ExprValue) while
// the checker types it as a float64 (Sample): validation and the messages
// stay those of a number. The program that runs has every operator and
// builtin that may meet one rewritten into a call of a function below,
// which computes decimally when an operand is a decimal and otherwise does
// exactly what expr-lang's own would.

// The functions the rewritten operators call (unwritable names).
const (
	fnDecDiv   = "decimal /"
	fnDecMod   = "decimal %"
	fnDecPow   = "decimal **"
	fnDecLess  = "decimal <"
	fnDecMore  = "decimal >"
	fnDecLE    = "decimal <="
	fnDecME    = "decimal >="
	fnDecEq    = "decimal =="
	fnDecNe    = "decimal !="
	fnDecIn    = "decimal in"
	fnDecRound = "decimal round"
	fnDecCeil  = "decimal ceil"
	fnDecFloor = "decimal floor"
	fnDecMax   = "decimal max"
	fnDecMin   = "decimal min"
	fnDecMean  = "decimal mean"
	fnDecMed   = "decimal median"
	fnDecFloat = "decimal float"
	fnDecJSON  = "decimal toJSON"
	fnPlain    = "decimal as float"
	fnDecSort  = "decimal sort"
)

// maxDigits bounds a decimal an expression computes: past it the
// evaluation fails (its field is null, and counted), as PostgreSQL's
// numeric fails past its own limits. No numeric(p,s) holds more (p is at
// most 1000), and a loop multiplying a decimal by itself would otherwise
// grow it without bound, at quadratic cost.
const maxDigits = 1000

var errDecimalRange = errors.New("numeric value beyond 1000 digits")

var errDivisionByZero = errors.New("division by zero")

func decimalOptions() []expr.Option {
	return []expr.Option{
		expr.Function(fnDecDiv, decimalOp(divDecimal, func(a, b any) any { return runtime.Divide(a, b) })),
		expr.Function(fnDecMod, decimalOp(modDecimal, func(a, b any) any { return runtime.Modulo(a, b) })),
		expr.Function(fnDecPow, func(p ...any) (any, error) { return runtime.Exponent(plain(p[0]), plain(p[1])), nil }),
		expr.Function(fnDecLess, decimalCmp(func(c int) bool { return c < 0 }, runtime.Less)),
		expr.Function(fnDecMore, decimalCmp(func(c int) bool { return c > 0 }, runtime.More)),
		expr.Function(fnDecLE, decimalCmp(func(c int) bool { return c <= 0 }, runtime.LessOrEqual)),
		expr.Function(fnDecME, decimalCmp(func(c int) bool { return c >= 0 }, runtime.MoreOrEqual)),
		expr.Function(fnDecEq, func(p ...any) (any, error) { return equal(p[0], p[1]), nil }),
		expr.Function(fnDecNe, func(p ...any) (any, error) { return !equal(p[0], p[1]), nil }),
		expr.Function(fnDecIn, in),
		expr.Function(fnDecRound, rounding(func(d decimal.Decimal) decimal.Decimal { return d.Round(0) }, builtin.Round)),
		expr.Function(fnDecCeil, rounding(decimal.Decimal.Ceil, builtin.Ceil)),
		expr.Function(fnDecFloor, rounding(decimal.Decimal.Floor, builtin.Floor)),
		expr.Function(fnDecMax, overDecimals("max", extreme(1))),
		expr.Function(fnDecMin, overDecimals("min", extreme(-1))),
		expr.Function(fnDecMean, overDecimals("mean", mean)),
		expr.Function(fnDecMed, overDecimals("median", median)),
		expr.Function(fnDecFloat, func(p ...any) (any, error) { return builtin.Float(plain(p[0])), nil }),
		expr.Function(fnDecJSON, toJSON),
		expr.Function(fnPlain, func(p ...any) (any, error) { return plain(p[0]), nil }),
		expr.Function(fnGroupKey, groupKey),
		expr.Function(fnGroupGet, groupGet),
		expr.Function(fnDecSort, sortItems),
	}
}

// decimals reads a and b as decimals when either is one and the other a
// finite number; ok is false otherwise (then expr-lang's operator applies,
// to a decimal as its float: plain).
func decimals(a, b any) (x, y decimal.Decimal, ok bool) {
	da, aDec := a.(decimal.Decimal)
	db, bDec := b.(decimal.Decimal)
	switch {
	case aDec && bDec:
		return da, db, true
	case aDec:
		db, ok = asDecimal(b)
		return da, db, ok
	case bDec:
		da, ok = asDecimal(a)
		return da, db, ok
	}
	return x, y, false
}

// asDecimal is an integer, or a finite float read as its shortest
// decimal (the literal 1.1 as 1.1, as PostgreSQL reads a literal).
func asDecimal(v any) (decimal.Decimal, bool) {
	if n, ok := toInt64(v); ok {
		return decimal.NewFromInt(n), true
	}
	switch x := v.(type) {
	case decimal.Decimal:
		return x, true
	case float64:
		if !math.IsInf(x, 0) && !math.IsNaN(x) {
			return decimal.NewFromFloat(x), true
		}
	case float32:
		return asDecimal(float64(x))
	}
	return decimal.Decimal{}, false
}

// bounded is d, or errDecimalRange past maxDigits.
func bounded(d decimal.Decimal) (any, error) {
	// Digits before the point count whether the coefficient or the
	// exponent holds them (1e300 is 1 at exponent 300).
	if d.NumDigits()+max(int(d.Exponent()), 0) > maxDigits || d.Exponent() < -maxDigits {
		return nil, errDecimalRange
	}
	return d, nil
}

// decimalOp is a binary operator: exact on decimals, else expr-lang's.
func decimalOp(exact func(a, b decimal.Decimal) (decimal.Decimal, error), fallback func(a, b any) any) func(...any) (any, error) {
	return func(p ...any) (any, error) {
		a, b, ok := decimals(p[0], p[1])
		if !ok {
			return fallback(plain(p[0]), plain(p[1])), nil
		}
		r, err := exact(a, b)
		if err != nil {
			return nil, err
		}
		return bounded(r)
	}
}

func addDecimal(a, b decimal.Decimal) (decimal.Decimal, error) { return a.Add(b), nil }
func subDecimal(a, b decimal.Decimal) (decimal.Decimal, error) { return a.Sub(b), nil }
func mulDecimal(a, b decimal.Decimal) (decimal.Decimal, error) { return a.Mul(b), nil }

func divDecimal(a, b decimal.Decimal) (decimal.Decimal, error) {
	if b.IsZero() {
		return decimal.Decimal{}, errDivisionByZero
	}
	return Divide(a, b, max(scaleOf(a), scaleOf(b))), nil
}

func modDecimal(a, b decimal.Decimal) (decimal.Decimal, error) {
	if b.IsZero() {
		return decimal.Decimal{}, errDivisionByZero
	}
	return a.Mod(b), nil
}

// scaleOf is the number of decimals d is written with (PostgreSQL's dscale).
func scaleOf(d decimal.Decimal) int32 {
	return max(-d.Exponent(), 0)
}

// DecimalText is d written as PostgreSQL writes a numeric: every decimal
// of its scale (1.50, not 1.5), no exponent.
func DecimalText(d decimal.Decimal) string {
	return d.StringFixed(scaleOf(d))
}

// Divide is a / b as PostgreSQL's numeric division gives it
// (select_div_scale): at least 16 significant digits, counted in its
// base-10,000 digits (so often 17 to 20: 5/3 is 1.6666666666666667), and
// at least scale decimals, rounded half away from zero. b is not zero.
func Divide(a, b decimal.Decimal, scale int32) decimal.Decimal {
	w1, f1 := numericWeight(a)
	w2, f2 := numericWeight(b)
	qweight := w1 - w2
	if f1 <= f2 {
		qweight--
	}
	rscale := min(max(int32(16-4*qweight), scale, 0), 1000)
	return a.DivRound(b, rscale)
}

// numericWeight is d's weight and first digit as PostgreSQL's numeric
// holds it, in base 10,000: 1234.5 is 1234 at weight 0, 12345 is 1 at
// weight 1, 0.0005 is 5 at weight -1. Zero is 0 at weight 0.
func numericWeight(d decimal.Decimal) (weight int, first int64) {
	if d.IsZero() {
		return 0, 0
	}
	a := d.Abs()
	lead := int(a.Exponent()) + len(a.Coefficient().String()) - 1 // the leading digit's power of 10
	weight = lead / 4
	if lead < 0 && lead%4 != 0 {
		weight-- // floor
	}
	return weight, a.Shift(int32(-4 * weight)).IntPart()
}

// decimalCmp is a comparison: exact on decimals, else expr-lang's.
func decimalCmp(holds func(int) bool, fallback func(a, b any) bool) func(...any) (any, error) {
	return func(p ...any) (any, error) {
		if a, b, ok := decimals(p[0], p[1]); ok {
			return holds(a.Cmp(b)), nil
		}
		return fallback(plain(p[0]), plain(p[1])), nil
	}
}

// equal is ==: a decimal equals a number of the same value (1.50 == 1.5
// == 1.5 as a float), else expr-lang's.
func equal(a, b any) bool {
	if x, y, ok := decimals(a, b); ok {
		return x.Equal(y)
	}
	return runtime.Equal(plain(a), plain(b))
}

// in is the in operator: an item of an array equal to the needle by
// equal, else expr-lang's (a key of a map, a field of a struct).
func in(p ...any) (any, error) {
	needle, haystack := p[0], p[1]
	if items, ok := haystack.([]any); ok {
		for _, it := range items {
			if equal(needle, it) {
				return true, nil
			}
		}
		return false, nil
	}
	if _, dec := needle.(decimal.Decimal); dec {
		if v := reflect.ValueOf(haystack); v.Kind() == reflect.Slice || v.Kind() == reflect.Array {
			for i := range v.Len() {
				if equal(needle, v.Index(i).Interface()) {
					return true, nil
				}
			}
			return false, nil
		}
	}
	if groups, ok := haystack.(map[any][]any); ok {
		return groupsHave(groups, needle), nil
	}
	return runtime.In(plain(needle), haystack), nil
}

// rounding is round, ceil or floor: of a decimal a decimal (PostgreSQL's
// round(numeric) is a numeric), else expr-lang's.
func rounding(exact func(decimal.Decimal) decimal.Decimal, fallback func(any) any) func(...any) (any, error) {
	return func(p ...any) (any, error) {
		if d, ok := p[0].(decimal.Decimal); ok {
			return exact(d), nil
		}
		return fallback(p[0]), nil
	}
}

// numbers flattens the arguments of max, min, mean or median (numbers and
// arrays of them, at any depth) into decimals; ok is false when none is a
// decimal (expr-lang's builtin applies, as it would have).
func numbers(name string, args []any) (out []decimal.Decimal, ok bool, err error) {
	var walk func(v any, depth int) error
	walk = func(v any, depth int) error {
		if depth > builtin.MaxDepth {
			return builtin.ErrorMaxDepth
		}
		if d, isDec := v.(decimal.Decimal); isDec {
			ok = true
			out = append(out, d)
			return nil
		}
		if d, isNum := asDecimal(v); isNum {
			out = append(out, d)
			return nil
		}
		rv := reflect.ValueOf(v)
		if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
			if _, isFloat := v.(float64); isFloat {
				return errNotDecimal // an infinite float: expr-lang's own builtin
			}
			return fmt.Errorf("invalid argument for %s (type %T)", name, v)
		}
		for i := range rv.Len() {
			if err := walk(rv.Index(i).Interface(), depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	for _, a := range args {
		if err := walk(a, 0); err != nil {
			if errors.Is(err, errNotDecimal) {
				return nil, false, nil
			}
			return nil, false, err
		}
	}
	return out, ok, nil
}

var errNotDecimal = errors.New("not a decimal")

// builtinFunc is expr-lang's builtin of that name.
func builtinFunc(name string) func(...any) (any, error) {
	return builtin.Builtins[builtin.Index[name]].Func
}

// overDecimals is the builtin name over the numbers of its arguments:
// of computes it when a decimal is among them (ds holds at least it),
// else expr-lang's own builtin does, as it would have.
func overDecimals(name string, of func(ds []decimal.Decimal) any) func(...any) (any, error) {
	return func(p ...any) (any, error) {
		ds, ok, err := numbers(name, p)
		switch {
		case err != nil:
			return nil, err
		case !ok:
			return builtinFunc(name)(plainAll(p)...)
		}
		return of(ds), nil
	}
}

// extreme is max (sign 1) or min (-1): the decimal itself.
func extreme(sign int) func([]decimal.Decimal) any {
	return func(ds []decimal.Decimal) any {
		best := ds[0]
		for _, d := range ds[1:] {
			if d.Cmp(best)*sign > 0 {
				best = d
			}
		}
		return best
	}
}

// mean is the numbers' sum divided by their count as a numeric division
// (PostgreSQL's avg).
func mean(ds []decimal.Decimal) any {
	sum := decimal.Zero
	var scale int32
	for _, d := range ds {
		sum = sum.Add(d)
		scale = max(scale, scaleOf(d))
	}
	return Divide(sum, decimal.NewFromInt(int64(len(ds))), scale)
}

// median is the middle number, or the mean of the two middle ones.
func median(ds []decimal.Decimal) any {
	sortDecimals(ds)
	n := len(ds)
	if n%2 == 1 {
		return ds[n/2]
	}
	two := ds[n/2-1].Add(ds[n/2])
	return Divide(two, decimal.NewFromInt(2), scaleOf(two))
}

func sortDecimals(ds []decimal.Decimal) {
	slices.SortStableFunc(ds, decimal.Decimal.Cmp)
}

// sortItems is sort: the items of an array in order ("asc", or "desc"),
// decimals among them compared exactly and kept, not made floats; an array
// without one as expr-lang's.
func sortItems(p ...any) (any, error) {
	items, ok := p[0].([]any)
	if !ok || !hasDecimal(items, 0) {
		return builtinFunc("sort")(p...)
	}
	desc := false
	if len(p) == 2 {
		switch p[1] {
		case "asc":
		case "desc":
			desc = true
		default:
			return nil, fmt.Errorf("sort order is %v, not \"asc\" or \"desc\"", p[1])
		}
	}
	out := slices.Clone(items)
	var err error
	slices.SortStableFunc(out, func(a, b any) int {
		c, cerr := compare(a, b)
		if cerr != nil && err == nil {
			err = cerr
		}
		if desc {
			return -c
		}
		return c
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// compare orders two numbers (decimals exactly, as decimals) or, for
// anything else, as expr-lang's < does; an error for values it cannot
// order.
func compare(a, b any) (c int, err error) {
	if x, y, ok := decimals(a, b); ok {
		return x.Cmp(y), nil
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	pa, pb := plain(a), plain(b)
	switch {
	case runtime.Less(pa, pb):
		return -1, nil
	case runtime.Less(pb, pa):
		return 1, nil
	}
	return 0, nil
}

// toJSON is expr-lang's toJSON with a decimal written as a JSON number of
// its digits, counted against the text budget before it is built (its
// last argument is $env).
func toJSON(p ...any) (any, error) {
	v := jsonNumbers(p[0])
	if err := spendOnText(p[len(p)-1], v); err != nil {
		return nil, err
	}
	return builtinFunc("toJSON")(v)
}

// plain is v with every decimal in it (at any depth of arrays and maps)
// as its nearest float64: what expr-lang's own operators and builtins
// compute with. v itself when it holds none.
func plain(v any) any {
	if !hasDecimal(v, 0) {
		return v
	}
	return deepMap(v, func(d decimal.Decimal) any { return d.InexactFloat64() })
}

// deepMap is v, arrays and maps copied, with every decimal as conv makes it.
func deepMap(v any, conv func(decimal.Decimal) any) any {
	switch x := v.(type) {
	case decimal.Decimal:
		return conv(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepMap(e, conv)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepMap(e, conv)
		}
		return out
	}
	return v
}

// hasDecimal reports whether v holds a decimal, at any depth of arrays and
// maps (up to expr-lang's own nesting bound).
func hasDecimal(v any, depth int) bool {
	switch x := v.(type) {
	case decimal.Decimal:
		return true
	case []any:
		if depth < builtin.MaxDepth {
			for _, e := range x {
				if hasDecimal(e, depth+1) {
					return true
				}
			}
		}
	case map[string]any:
		if depth < builtin.MaxDepth {
			for _, e := range x {
				if hasDecimal(e, depth+1) {
					return true
				}
			}
		}
	}
	return false
}

func plainAll(p []any) []any {
	out := make([]any, len(p))
	for i, v := range p {
		out[i] = plain(v)
	}
	return out
}

// jsonNumbers is v with every decimal in it written as a json.Number.
func jsonNumbers(v any) any {
	if !hasDecimal(v, 0) {
		return v
	}
	return deepMap(v, func(d decimal.Decimal) any { return json.Number(DecimalText(d)) })
}
