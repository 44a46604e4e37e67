package projections

import (
	"cmp"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/shopspring/decimal"
)

// keys, values and toPairs of an object give its keys in jsonb's order,
// as PostgreSQL's jsonb_object_keys does: shorter keys first, then by
// their bytes; values and pairs in the same order. expr-lang's give Go's
// map order, another at every evaluation: identical rows would get
// different documents, and each recompute of one another value.
const (
	fnKeys   = "ordered keys"
	fnValues = "ordered values"
	fnPairs  = "ordered toPairs"
)

var orderedBuiltins = map[string]string{"keys": fnKeys, "values": fnValues, "toPairs": fnPairs}

func keyOrderOptions() []expr.Option {
	return []expr.Option{
		expr.Function(fnKeys, overEntries("keys", func(k, _ any) any { return groupKeyOut(k) })),
		expr.Function(fnValues, overEntries("values", func(_, v any) any { return v })),
		expr.Function(fnPairs, overEntries("toPairs", func(k, v any) any { return []any{groupKeyOut(k), v} })),
	}
}

// keyOrder is the compile-time rewrite of keys, values and toPairs into
// the calls of keyOrderOptions.
type keyOrder struct{}

func (keyOrder) Visit(node *ast.Node) {
	if n, ok := (*node).(*ast.BuiltinNode); ok && len(n.Arguments) == 1 {
		if fn, ok := orderedBuiltins[n.Name]; ok {
			patchCall(node, fn, n.Type(), n.Arguments...)
		}
	}
}

// overEntries is the builtin name over the entries of a map in jsonb's
// key order, each as entry makes it.
func overEntries(name string, entry func(k, v any) any) func(p ...any) (any, error) {
	return func(p ...any) (any, error) {
		m := reflect.ValueOf(p[0])
		if m.Kind() != reflect.Map {
			return nil, fmt.Errorf("cannot get %s of %s", name, m.Kind())
		}
		keys := m.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return compareKeys(a.Interface(), b.Interface()) })
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = entry(k.Interface(), m.MapIndex(k).Interface())
		}
		return out, nil
	}
}

// compareKeys orders map keys as jsonb orders an object's: by the length
// of their text, then its bytes. Keys of the same text (groupBy's 1 and
// "1") are ordered by their type's name.
func compareKeys(a, b any) int {
	ta, tb := orderText(a), orderText(b)
	if c := cmp.Compare(len(ta), len(tb)); c != 0 {
		return c
	}
	if c := cmp.Compare(ta, tb); c != 0 {
		return c
	}
	return cmp.Compare(fmt.Sprintf("%T", a), fmt.Sprintf("%T", b))
}

func orderText(k any) string {
	if s, ok := KeyText(k); ok {
		return s
	}
	return fmt.Sprint(k)
}

// KeyText is a map key as the name of a JSON object's member: text as it
// is, a number's digits (a decimal's with its scale, a float's plain, as
// the documents write them), a boolean true or false, a date as a date
// and another time in RFC 3339 UTC (TimeText); false for null, a float that is not finite, and anything else.
func KeyText(k any) (string, bool) {
	switch x := k.(type) {
	case decimal.Decimal:
		return DecimalText(x), true
	case time.Time:
		return TimeText(x), true
	}
	v := reflect.ValueOf(k)
	switch {
	case v.Kind() == reflect.String:
		return v.String(), true
	case v.Kind() == reflect.Bool:
		return strconv.FormatBool(v.Bool()), true
	case v.CanInt():
		return strconv.FormatInt(v.Int(), 10), true
	case v.CanUint():
		return strconv.FormatUint(v.Uint(), 10), true
	case v.CanFloat():
		f := v.Float()
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return "", false
		}
		return strconv.FormatFloat(f+0, 'f', -1, 64), true // +0: not -0
	}
	return "", false
}
