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
// row): see aggAcc.result.
func aggregate(fn projections.AggFunc, t config.Type, vals []any) (any, bool) {
	var a aggAcc
	for _, v := range vals {
		a.add(fn, t, v, 1)
	}
	return a.result(fn, t)
}

// aggAcc is an aggregate's running state over a set of values, from which
// values can be taken away as well as added (sign -1 and +1): a group's
// aggregates are kept between batches in it (see groupAgg), and a batch
// takes away its changed rows' old values and adds their new ones. Only a
// min or max whose extreme value is taken away cannot tell the next one
// (Stale): its group is then recomputed from its rows.
type aggAcc struct {
	// N counts the values: for count, those counted; for sum and avg,
	// those read as numbers (infinities and NaN included); for min and
	// max, all of them.
	N int `json:"n"`
	// Sum is the sum of the finite ones, Scales how many of them have
	// each number of decimals (the sum keeps the largest), and PosInf,
	// NegInf and NaN count the others.
	Sum    decimal.Decimal `json:"sum"`
	Scales map[int32]int   `json:"scales,omitempty"`
	PosInf int             `json:"pinf,omitempty"`
	NegInf int             `json:"ninf,omitempty"`
	NaN    int             `json:"nan,omitempty"`
	// Best is the least (min) or greatest (max) value.
	Best  any  `json:"best,omitempty"`
	Stale bool `json:"-"`
}

// add adds (sign 1) or takes away (sign -1) one non-null value.
func (a *aggAcc) add(fn projections.AggFunc, t config.Type, v any, sign int) {
	switch fn {
	case projections.AggCount:
		a.N += sign
	case projections.AggSum, projections.AggAvg:
		a.addNumber(v, sign)
	case projections.AggMin, projections.AggMax:
		a.addBest(fn, t, v, sign)
	}
}

func (a *aggAcc) addNumber(v any, sign int) {
	switch nonFiniteRank(v) {
	case rankNegInf:
		a.NegInf, a.N = a.NegInf+sign, a.N+sign
		return
	case rankPosInf:
		a.PosInf, a.N = a.PosInf+sign, a.N+sign
		return
	case rankNaN:
		a.NaN, a.N = a.NaN+sign, a.N+sign
		return
	}
	d, err := toDecimal(v)
	if err != nil {
		return // compile refuses non-numeric columns; an undeclared one may hold anything
	}
	if sign > 0 {
		a.Sum = a.Sum.Add(d)
	} else {
		a.Sum = a.Sum.Sub(d)
	}
	if a.Scales == nil {
		a.Scales = map[int32]int{}
	}
	scale := -d.Exponent()
	if a.Scales[scale] += sign; a.Scales[scale] == 0 {
		delete(a.Scales, scale)
	}
	a.N += sign
}

// addBest keeps the extreme value. Taking away the extreme (or a value
// beyond it, which only a group out of step with its rows holds) leaves the
// next one unknown, until a value at least as extreme is added.
func (a *aggAcc) addBest(fn projections.AggFunc, t config.Type, v any, sign int) {
	extreme := func(c int) bool { return fn == projections.AggMin && c < 0 || fn == projections.AggMax && c > 0 }
	a.N += sign
	switch {
	case a.N <= 0:
		a.Best, a.Stale = nil, a.N < 0
	case sign > 0:
		c := compareValues(t, v, a.Best)
		if a.Best == nil || extreme(c) || c == 0 && (a.Stale || writtenBefore(v, a.Best)) {
			a.Best, a.Stale = v, false
		}
	case !extreme(compareValues(t, a.Best, v)):
		a.Stale = true
	}
}

// result is the aggregate's value: as in SQL, count counts and the others
// are null over no value. Sums and averages are exact decimals, rendered as
// JSON numbers: a sum keeps the field's declared scale, else the largest
// scale among its inputs (10.00 + 5.50 is 15.50); a sum typed real or
// double precision (over such a column) is then the float its PostgreSQL
// column holds. t is the field's type, which for min and max is the type of
// the values compared. It reports false for a result the type cannot hold
// (a float sum beyond the float's range), which is null, as an
// expression's.
func (a *aggAcc) result(fn projections.AggFunc, t config.Type) (any, bool) {
	switch fn {
	case projections.AggCount:
		return json.Number(strconv.Itoa(a.N)), true
	case projections.AggSum, projections.AggAvg:
		return a.sumOrAvg(fn, t)
	case projections.AggMin, projections.AggMax:
		return a.Best, true
	}
	return nil, true
}

func (a *aggAcc) sumOrAvg(fn projections.AggFunc, t config.Type) (any, bool) {
	switch {
	case a.N <= 0:
		return nil, true
	case a.NaN > 0 || a.PosInf > 0 && a.NegInf > 0:
		return "NaN", true // as PostgreSQL's numeric sums them; text, as JSON has no NaN
	case a.PosInf > 0:
		return "Infinity", true
	case a.NegInf > 0:
		return "-Infinity", true
	}
	scale := int32(0)
	for s := range a.Scales {
		scale = max(scale, s)
	}
	sum := a.Sum
	if fn == projections.AggAvg {
		sum = projections.Divide(sum, decimal.NewFromInt(int64(a.N)), scale) // PostgreSQL's avg
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

// writtenBefore breaks a tie between two equal values written apart (2 and
// 2.0 of a numeric without a declared scale): the one whose text sorts
// first is the extreme, whatever the order the rows came in or were read
// back, so a group's min and max are the same text in both states.
func writtenBefore(a, b any) bool {
	return fmt.Sprint(a) < fmt.Sprint(b)
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
	if t.Array {
		// Element by element, as PostgreSQL compares arrays; a prefix is
		// the smaller.
		xa, okA := a.([]any)
		xb, okB := b.([]any)
		if okA && okB {
			elem := t
			elem.Array = false
			for i := range min(len(xa), len(xb)) {
				ea, eb := xa[i], xb[i]
				if (ea == nil) != (eb == nil) {
					// A null element sorts after every other, as in
					// PostgreSQL's arrays (unlike a null value, which
					// min and max skip).
					if ea == nil {
						return 1
					}
					return -1
				}
				if c := compareValues(elem, ea, eb); c != 0 {
					return c
				}
			}
			return cmp.Compare(len(xa), len(xb))
		}
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
