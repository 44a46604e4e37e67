package projections

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm/runtime"
	"github.com/shopspring/decimal"
)

// The builtins whose cost expr's memory budget does not see, rewritten to
// stay within it: split and splitAfter build arrays it does not count, a
// trim with a long non-ASCII cutset costs the cutset's length per rune
// trimmed, and uniq compares every item with every distinct one before it.
const (
	fnSplit      = "checked split"
	fnSplitAfter = "checked splitAfter"
	fnTrim       = "checked trim"
	fnUniq       = "checked uniq"
)

// maxItems is expr's memory budget: an evaluation's ranges and arrays hold
// at most a million items.
const maxItems = 1_000_000

// errItems is the error expr's own budget gives.
var errItems = errors.New("memory budget exceeded")

func boundedBuiltins() []expr.Option {
	return []expr.Option{
		expr.Function(fnSplit, splitText(strings.SplitN)),
		expr.Function(fnSplitAfter, splitText(strings.SplitAfterN)),
		expr.Function(fnTrim, trimText),
		expr.Function(fnUniq, uniqItems),
	}
}

// boundedCall is the call replacing the builtin n, when it is one.
func boundedCall(n *ast.BuiltinNode) *ast.CallNode {
	var fn string
	var typ reflect.Type
	switch {
	case n.Name == "split" && (len(n.Arguments) == 2 || len(n.Arguments) == 3):
		fn, typ = fnSplit, reflect.TypeFor[[]string]()
	case n.Name == "splitAfter" && (len(n.Arguments) == 2 || len(n.Arguments) == 3):
		fn, typ = fnSplitAfter, reflect.TypeFor[[]string]()
	case n.Name == "trim" && len(n.Arguments) == 2:
		fn, typ = fnTrim, reflect.TypeFor[string]()
	case n.Name == "uniq" && len(n.Arguments) == 1:
		fn, typ = fnUniq, reflect.TypeFor[[]any]()
	default:
		return nil
	}
	args := n.Arguments
	if budgeted[fn] {
		args = append(append([]ast.Node{}, args...), &ast.IdentifierNode{Value: "$env"})
	}
	call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: fn}, Arguments: args}
	call.SetType(typ)
	return call
}

// splitText is split (or splitAfter) counting its parts against the
// evaluation's items before it makes them (its last argument is $env).
func splitText(split func(s, sep string, n int) []string) func(p ...any) (any, error) {
	return func(p ...any) (any, error) {
		env := p[len(p)-1]
		p = p[:len(p)-1]
		s, ok1 := p[0].(string)
		sep, ok2 := p[1].(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("split needs strings, got %T, %T", p[0], p[1])
		}
		n := -1
		if len(p) == 3 {
			n = runtime.ToInt(p[2])
		}
		parts := strings.Count(s, sep) + 1 // "" counts each rune and one more
		if sep == "" {
			parts = utf8.RuneCountInString(s)
		}
		if n >= 0 {
			parts = min(parts, n)
		}
		if parts > maxItems || !spendItems(env, parts) {
			return nil, errItems
		}
		return split(s, sep, n), nil
	}
}

// spendItems takes n items from the budget of the evaluation whose
// environment is env; false when they are not left.
func spendItems(env any, n int) bool {
	if left := budgetOf(env); left != nil {
		left.items -= n
		return left.items >= 0
	}
	return true
}

// trimText is trim(s, cutset). Go's strings.Trim looks every rune up in a
// cutset that is not ASCII by scanning it; a long one is made a set once.
func trimText(p ...any) (any, error) {
	s, ok1 := p[0].(string)
	cutset, ok2 := p[1].(string)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("trim needs strings, got %T, %T", p[0], p[1])
	}
	if len(cutset) <= 64 {
		return strings.Trim(s, cutset), nil
	}
	set := make(map[rune]bool, len(cutset))
	for _, r := range cutset {
		set[r] = true
	}
	return strings.TrimFunc(s, func(r rune) bool { return set[r] }), nil
}

// uniqItems is uniq: the items of an array, each first one of those equal
// by ==, in their order. Numbers, text, booleans and null are found among
// those kept by a key (1 and 1.0 have one); other items (arrays, objects)
// are compared only with the kept ones of the same coarse key, which equal
// ones share: linear time either way.
func uniqItems(p ...any) (any, error) {
	v := reflect.ValueOf(p[0])
	if v.Kind() != reflect.Array && v.Kind() != reflect.Slice {
		return nil, fmt.Errorf("cannot uniq %s", v.Kind())
	}
	out := []any{}
	seen := map[any]bool{}
	others := map[string][]any{}
	var b strings.Builder
	for i := range v.Len() {
		x := v.Index(i).Interface()
		if k, ok := uniqKey(x); ok {
			if !seen[k] {
				seen[k] = true
				out = append(out, x)
			}
			continue
		}
		b.Reset()
		coarseKey(&b, reflect.ValueOf(x))
		k := b.String()
		if slices.ContainsFunc(others[k], func(o any) bool { return uniqEqual(x, o) }) {
			continue
		}
		others[k] = append(others[k], x)
		out = append(out, x)
	}
	return out, nil
}

// uniqEqual is ==, for uniq (a variable: a test counts its calls).
var uniqEqual = equal

// coarseKey writes a key of v that values == finds equal share: numbers
// by their float64, map entries in key order; two values with one key may
// still differ (1 and 1.0 inside an object).
func coarseKey(b *strings.Builder, v reflect.Value) {
	if !v.IsValid() {
		b.WriteString("n")
		return
	}
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			b.WriteString("n")
			return
		}
		coarseKey(b, v.Elem())
	case reflect.Bool:
		b.WriteString(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		b.WriteString("d" + strconv.FormatFloat(float64(v.Int()), 'g', -1, 64))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		b.WriteString("d" + strconv.FormatFloat(float64(v.Uint()), 'g', -1, 64))
	case reflect.Float32, reflect.Float64:
		b.WriteString("d" + strconv.FormatFloat(v.Float(), 'g', -1, 64))
	case reflect.String:
		b.WriteString("s" + strconv.Itoa(v.Len()) + ":" + v.String())
	case reflect.Slice, reflect.Array:
		b.WriteString("[")
		for i := range v.Len() {
			coarseKey(b, v.Index(i))
			b.WriteString(",")
		}
		b.WriteString("]")
	case reflect.Map:
		keys := v.MapKeys()
		names := make([]string, len(keys))
		for i, k := range keys {
			var kb strings.Builder
			coarseKey(&kb, k)
			names[i] = kb.String()
		}
		order := make([]int, len(keys))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(i, j int) int { return strings.Compare(names[i], names[j]) })
		b.WriteString("{")
		for _, i := range order {
			b.WriteString(names[i] + ":")
			coarseKey(b, v.MapIndex(keys[i]))
			b.WriteString(",")
		}
		b.WriteString("}")
	default:
		b.WriteString("?") // compared one by one
	}
}

// uniqKey is the key of a value == compares as a number, text, boolean or
// null; ok is false for any other.
func uniqKey(x any) (key any, ok bool) {
	type number struct {
		i     int64
		whole bool
	}
	// A number that is not whole, by its shortest decimal digits.
	type digits string
	switch x := x.(type) {
	case nil:
		return nil, true
	case string, bool:
		return x, true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<63 {
			return number{i: int64(x), whole: true}, true
		}
		if x != x || math.IsInf(x, 0) {
			return nil, false // NaN equals nothing, itself included
		}
		return digits(decimal.NewFromFloat(x).String()), true // as == reads it beside a decimal
	case float32:
		return uniqKey(float64(x))
	case decimal.Decimal:
		// As an equal integer or float's (1.50, 1.5 and 1.5 as a float
		// are one item): its digits without trailing zeros.
		if x.Equal(x.Truncate(0)) && x.BigInt().IsInt64() {
			return number{i: x.IntPart(), whole: true}, true
		}
		return digits(x.String()), true
	}
	rv := reflect.ValueOf(x)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return number{i: rv.Int(), whole: true}, true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if u := rv.Uint(); u <= math.MaxInt64 {
			return number{i: int64(u), whole: true}, true
		}
	}
	return nil, false
}
