package projections

import (
	"encoding/json"
	"math"
	"reflect"
	"time"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm/runtime"
	"github.com/shopspring/decimal"
)

// decimalOps is the compile-time rewrite of decimalOptions: the operators
// and builtins that may meet a decimal (an operand the checker types as a
// float, or cannot type) become calls of functions that compute with it
// exactly. checkedIntegers has rewritten +, - and * of operands that may
// be integers already; their checking functions take decimals too.
type decimalOps struct{}

var decimalBinary = map[string]string{
	"+": fnAdd, "-": fnSub, "*": fnMul, "/": fnDecDiv, "%": fnDecMod, "**": fnDecPow, "^": fnDecPow,
	"<": fnDecLess, ">": fnDecMore, "<=": fnDecLE, ">=": fnDecME, "==": fnDecEq, "!=": fnDecNe,
}

// decimalBuiltins are the builtins whose calls go to a decimal-aware
// function of the same arguments.
var decimalBuiltins = map[string]string{
	"abs": fnAbs, "round": fnDecRound, "ceil": fnDecCeil, "floor": fnDecFloor,
	"max": fnDecMax, "min": fnDecMin, "mean": fnDecMean, "median": fnDecMed,
	"float": fnDecFloat, "toJSON": fnDecJSON,
}

func (decimalOps) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.BinaryNode:
		fn, ok := decimalBinary[n.Operator]
		switch {
		case isText(n.Left.Type()) || isText(n.Right.Type()):
			return // text (added within its budget by checkedIntegers) or compared
		case n.Operator == "in" && (mayBeDecimal(n.Left.Type()) || mayHoldDecimals(n.Right.Type()) && !isRange(n.Right)):
			fn, ok = fnDecIn, true
		case !ok || !mayBeDecimal(n.Left.Type()) && !mayBeDecimal(n.Right.Type()):
			return
		}
		patchCall(node, fn, n.Type(), n.Left, n.Right)
	case *ast.UnaryNode:
		if _, literal := n.Node.(*ast.FloatNode); n.Operator == "-" && !literal && mayBeDecimal(n.Node.Type()) {
			patchCall(node, fnNeg, n.Type(), n.Node)
		}
	case *ast.BuiltinNode:
		decimalBuiltin(node, n)
	case *ast.MemberNode:
		if _, name := n.Property.(*ast.StringNode); !name && n.Node.Type() == groupsType {
			patchCall(node, fnGroupGet, n.Type(), n.Node, n.Property)
		}
	}
}

func decimalBuiltin(node *ast.Node, n *ast.BuiltinNode) {
	if fn, ok := decimalBuiltins[n.Name]; ok && !hasPredicate(n) {
		args := n.Arguments
		if budgeted[fn] {
			args = append(append([]ast.Node{}, args...), &ast.IdentifierNode{Value: "$env"})
		}
		patchCall(node, fn, n.Type(), args...)
		return
	}
	switch n.Name {
	case "sum":
		values := n.Arguments[0]
		if len(n.Arguments) == 2 { // sum(items, #.price): the sum of the mapped values
			values = &ast.BuiltinNode{Name: "map", Arguments: n.Arguments}
		}
		patchCall(node, fnSum, n.Type(), values)
	case "sortBy", "groupBy":
		// sortBy orders as expr-lang's, decimals as floats; groupBy's keys
		// are one Go value per number (fnGroupKey), since its groups are a
		// map's.
		fn := fnPlain
		if n.Name == "groupBy" {
			fn = fnGroupKey
		}
		if len(n.Arguments) >= 2 {
			if p, ok := n.Arguments[1].(*ast.PredicateNode); ok {
				patchCall(&p.Node, fn, p.Node.Type(), p.Node)
			}
		}
	case "sort":
		patchCall(node, fnDecSort, n.Type(), n.Arguments...)
	case "type":
		if len(n.Arguments) >= 1 {
			patchCall(&n.Arguments[0], fnPlain, n.Arguments[0].Type(), n.Arguments[0])
		}
	}
}

// patchCall replaces *node with a call of fn on args, typed t as the
// checker typed what it replaces (so the fields' types stay checked).
func patchCall(node *ast.Node, fn string, t reflect.Type, args ...ast.Node) {
	call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: fn}, Arguments: args}
	if t != nil && t.Kind() != reflect.Interface {
		call.SetType(t)
	}
	ast.Patch(node, call)
}

func hasPredicate(n *ast.BuiltinNode) bool {
	for _, a := range n.Arguments {
		if _, ok := a.(*ast.PredicateNode); ok {
			return true
		}
	}
	return false
}

// mayBeDecimal says whether a value of static type t may be a decimal: the
// checker types a numeric as a float (Sample), and a value it cannot type
// (a jsonb member, an item of an array of objects) may be anything.
func mayBeDecimal(t reflect.Type) bool {
	if t == nil {
		return true
	}
	switch t.Kind() {
	case reflect.Interface, reflect.Float64, reflect.Float32:
		return true
	}
	return false
}

// mayHoldDecimals says whether a value of static type t may be an array
// with decimals among its items.
func mayHoldDecimals(t reflect.Type) bool {
	if t == nil || t.Kind() == reflect.Interface {
		return true
	}
	return (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && mayBeDecimal(t.Elem())
}

// isRange says whether n is a range (1..10): integers only, which expr's
// optimizer checks by comparisons rather than by building the array.
func isRange(n ast.Node) bool {
	b, ok := n.(*ast.BinaryNode)
	return ok && b.Operator == ".."
}

func isText(t reflect.Type) bool {
	return t != nil && t.Kind() == reflect.String
}

// fnGroupKey is a groupBy key as the map of groups holds it, one Go value
// per number or instant, which expr-lang's map would keep apart by type or
// zone: an integer as an int64 (exact: two bigints a float would merge
// stay apart); a float or a decimal that is whole and fits as an int64 (1
// for 1, 1.0 and 1.00), else as the float whose shortest digits it is
// (0.5 and 0.50 one group), else as its digits (a json.Number, which
// compares by them: two numeric(20,2) values one float would merge stay
// apart; keys and toPairs give it as a decimal again, groupKeyOut); a time
// other than a date in UTC (one instant written with two offsets is one
// group); any other value as plain gives it.
const fnGroupKey = "decimal groupBy key"

func groupKey(p ...any) (any, error) {
	switch x := p[0].(type) {
	case decimal.Decimal:
		return decimalKey(x), nil
	case float64:
		return floatKey(x), nil
	case float32:
		return floatKey(float64(x)), nil
	case time.Time:
		if x.Location() == DateZone {
			return x, nil
		}
		return x.UTC(), nil
	}
	v := plain(p[0])
	rv := reflect.ValueOf(v)
	switch {
	case v == nil:
		return nil, nil
	case rv.CanInt():
		return rv.Int(), nil
	case rv.CanUint() && rv.Uint() <= math.MaxInt64:
		return int64(rv.Uint()), nil
	}
	return v, nil
}

func decimalKey(d decimal.Decimal) any {
	if d.IsInteger() && d.Abs().LessThan(decimal.New(1, 19)) {
		if i := d.IntPart(); decimal.NewFromInt(i).Equal(d) {
			return i
		}
	}
	if f := d.InexactFloat64(); !math.IsInf(f, 0) && decimal.NewFromFloat(f).Equal(d) {
		return floatKey(f) // the float whose shortest digits it is: 0.5 and 0.50 as 0.5
	}
	return json.Number(d.String()) // digits no float holds
}

func floatKey(f float64) any {
	if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
		return int64(f)
	}
	return f
}

// groupKeyOut is a key of groups as it leaves the map (keys, toPairs): one
// kept as digits a decimal again, a number to every operator.
func groupKeyOut(k any) any {
	if digits, ok := k.(json.Number); ok {
		if d, err := decimal.NewFromString(string(digits)); err == nil {
			return d
		}
	}
	return k
}

// fnGroupGet is groups[k] of groupBy's groups: k as their keys are kept
// (groupKey), so that groups[1] finds the group of 1 (an int64 key, which
// expr-lang's index by the int 1 would miss) and groups[n[0]] a decimal's.
const fnGroupGet = "decimal groupBy get"

var groupsType = reflect.TypeFor[map[any][]any]()

func groupGet(p ...any) (any, error) {
	m, ok := p[0].(map[any][]any)
	if !ok {
		return runtime.Fetch(p[0], p[1]), nil
	}
	k, err := groupKey(p[1])
	if err != nil {
		return nil, err
	}
	return m[k], nil
}

// groupsHave is k in groupBy's groups, k as their keys are kept.
func groupsHave(m map[any][]any, k any) bool {
	key, err := groupKey(k)
	if err != nil {
		return false
	}
	_, ok := m[key]
	return ok
}
