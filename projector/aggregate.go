package projector

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
)

// aggregate computes an aggregate field over vals (see aggregate) and
// counts a result its type cannot hold as an expression error.
func (b *builder) aggregate(f *projections.Field, vals []any) any {
	v, ok := aggregate(f.Agg.Func, f.Type, vals)
	if !ok {
		b.tally.exprErrors++
	}
	return v
}

// aggregate computes fn over vals, the non-null values of the rows that
// pass the aggregate's where (for a count without a column, one true per
// row). As in SQL, count counts them and the others are null over none.
// Sums and averages are exact decimals, rendered as JSON numbers: a sum
// keeps the field's declared scale, else the largest scale among its
// inputs (10.00 + 5.50 is 15.50); a sum typed real or double precision
// (over such a column) is then the float its PostgreSQL column holds. t is
// the field's type, which for min and max is the type of the values
// compared. It reports false for a result the type cannot hold (a float
// sum beyond the float's range), which is null, as an expression's.
func aggregate(fn projections.AggFunc, t config.Type, vals []any) (any, bool) {
	switch fn {
	case projections.AggCount:
		return json.Number(strconv.Itoa(len(vals))), true
	case projections.AggSum, projections.AggAvg:
		return sumOrAvg(fn, t, vals)
	case projections.AggMin, projections.AggMax:
		var best any
		for _, v := range vals {
			c := compareValues(t, v, best)
			if best == nil || (fn == projections.AggMin && c < 0) || (fn == projections.AggMax && c > 0) {
				best = v
			}
		}
		return best, true
	}
	return nil, true
}

// avgDigits is how many significant digits an average keeps at least, as
// PostgreSQL's numeric division does (select_div_scale), and never fewer
// decimals than its inputs have.
const avgDigits = 16

func sumOrAvg(fn projections.AggFunc, t config.Type, vals []any) (any, bool) {
	sum := decimal.Zero
	cnt := 0
	scale := int32(0)
	var posInf, negInf, nan bool
	for _, v := range vals {
		switch nonFiniteRank(v) {
		case rankNegInf:
			negInf, cnt = true, cnt+1
			continue
		case rankPosInf:
			posInf, cnt = true, cnt+1
			continue
		case rankNaN:
			nan, cnt = true, cnt+1
			continue
		}
		d, err := toDecimal(v)
		if err != nil {
			continue // compile refuses non-numeric columns; an undeclared one may hold anything
		}
		sum = sum.Add(d)
		scale = max(scale, -d.Exponent())
		cnt++
	}
	switch {
	case cnt == 0:
		return nil, true
	case nan || posInf && negInf:
		return "NaN", true // as PostgreSQL's numeric sums them; text, as JSON has no NaN
	case posInf:
		return "Infinity", true
	case negInf:
		return "-Infinity", true
	}
	if fn == projections.AggAvg {
		sum = average(sum, cnt, scale)
	}
	if bits := floatBits(t); bits != 0 {
		return floatNumber(sum, bits)
	}
	if fn == projections.AggAvg {
		return json.Number(sum.String()), true
	}
	if t.Name == "numeric" && t.Scale >= 0 {
		scale = int32(t.Scale)
	}
	return json.Number(sum.StringFixed(scale)), true
}

// floatBits is 64 for a double precision, 32 for a real, else 0.
func floatBits(t config.Type) int {
	switch {
	case t.Array:
		return 0
	case t.Name == "double precision":
		return 64
	case t.Name == "real":
		return 32
	}
	return 0
}

// floatNumber is d as the float of bits a PostgreSQL column of that type
// holds (the nearest one: 1e308 + 0.3 is 1e308), written as to_jsonb
// writes it, in plain digits; false when d is beyond the float's range
// (PostgreSQL: "value out of range: overflow").
func floatNumber(d decimal.Decimal, bits int) (any, bool) {
	f, err := strconv.ParseFloat(d.String(), bits)
	if err != nil {
		return nil, false
	}
	return json.Number(strconv.FormatFloat(f, 'f', -1, bits)), true
}

// average is sum/n with at least avgDigits significant digits and at least
// scale decimals: 3e-20 stays 3e-20, not 0.
func average(sum decimal.Decimal, n int, scale int32) decimal.Decimal {
	count := decimal.NewFromInt(int64(n))
	rough := sum.DivRound(count, scale+avgDigits+1) // enough to see where its digits start
	decimals := max(scale, avgDigits)
	if !rough.IsZero() {
		// digits before the point: 1 for 7.75, -19 for 3e-20
		whole := int32(len(rough.Coefficient().String())) + rough.Exponent()
		if rough.Coefficient().Sign() < 0 {
			whole-- // the minus sign
		}
		decimals = max(scale, avgDigits-whole)
	}
	return sum.DivRound(count, decimals)
}

var errNotFinite = errors.New("not a finite number")

// toDecimal reads a number as the state or an expression gives it. An
// infinite or NaN float (an expression dividing by zero) is an error, not
// a panic: decimals have no such values.
func toDecimal(v any) (decimal.Decimal, error) {
	switch x := v.(type) {
	case json.Number:
		return decimal.NewFromString(x.String())
	case string:
		return decimal.NewFromString(x)
	case int:
		return decimal.NewFromInt(int64(x)), nil
	case int64:
		return decimal.NewFromInt(x), nil
	case int32:
		return decimal.NewFromInt32(x), nil
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return decimal.Decimal{}, errNotFinite
		}
		return decimal.NewFromFloat(x), nil
	case decimal.Decimal:
		return x, nil
	}
	return decimal.Decimal{}, fmt.Errorf("not a number: %T", v)
}

// sortRows orders joined rows by the join's order_by columns, each compared
// as its type in src says. The sort is stable: rows come in state key
// order (see load), which breaks ties the same way in every store.
func sortRows(rows []map[string]any, order []projections.Order, src *projections.Source) {
	types := make([]config.Type, len(order))
	for i, o := range order {
		types[i], _ = src.ColumnType(o.Column)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		for k, o := range order {
			a, b := rows[i][o.Column], rows[j][o.Column]
			c := compareValues(types[k], a, b)
			if (a == nil) != (b == nil) {
				// As PostgreSQL orders them by default: nulls last
				// ascending, first descending.
				c = -c
			}
			if c == 0 {
				continue
			}
			if o.Desc {
				return c > 0
			}
			return c < 0
		}
		return false
	})
}

// compareValues orders two values of a column of type t, null first.
// Timestamps and dates compare as instants: their RFC 3339 text drops
// trailing fractional zeros, so "…:00Z" would sort after "…:00.5Z" as
// text. Numbers (and values of an undeclared type that read as numbers)
// compare by value; everything else as text.
func compareValues(t config.Type, a, b any) int {
	if a == nil || b == nil {
		switch {
		case a == nil && b == nil:
			return 0
		case a == nil:
			return -1
		}
		return 1
	}
	if !t.Array {
		switch t.Name {
		case "timestamp", "timestamptz", "date":
			ta, okA := projections.ExprValue(t, a).(time.Time)
			tb, okB := projections.ExprValue(t, b).(time.Time)
			if okA && okB {
				return ta.Compare(tb)
			}
		case "text", "varchar", "uuid":
			return compareText(a, b)
		}
	}
	da, errA := toDecimal(a)
	db, errB := toDecimal(b)
	if errA == nil && errB == nil {
		return da.Cmp(db)
	}
	// A numeric's NaN and infinities (PostgreSQL's, read as text) sort as
	// PostgreSQL sorts them: -Infinity below every number, then Infinity,
	// then NaN; not as their text, which puts "-Infinity" above "-5".
	ra, rb := nonFiniteRank(a), nonFiniteRank(b)
	if (ra != rankFinite || errA == nil) && (rb != rankFinite || errB == nil) {
		return cmp.Compare(ra, rb)
	}
	return compareText(a, b)
}

// Ranks of a numeric value in PostgreSQL's order: the finite ones all
// rank between the infinities.
const (
	rankNegInf = iota - 1
	rankFinite
	rankPosInf
	rankNaN
)

// nonFiniteRank places a value that is a numeric's NaN or infinity, as the
// decoder spells them: rankFinite for the rest. (An expression's
// non-finite float became null before it got here.)
func nonFiniteRank(v any) int {
	switch v {
	case "-Infinity":
		return rankNegInf
	case "Infinity":
		return rankPosInf
	case "NaN":
		return rankNaN
	}
	return rankFinite
}

func compareText(a, b any) int {
	ta, _ := text(a)
	tb, _ := text(b)
	return strings.Compare(ta, tb)
}
