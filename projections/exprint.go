package projections

import (
	"errors"
	"fmt"
	"math"
	"reflect"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/vm/runtime"
	"github.com/shopspring/decimal"
)

// ErrIntegerOverflow is an expression's integer +, -, * or negation whose
// result does not fit 64 bits (PostgreSQL's "bigint out of range"); the
// field it computes is null.
var ErrIntegerOverflow = errors.New("bigint out of range")

// The functions the checked operators call. Their names cannot be written
// in an expression, nor clash with a column's.
const (
	fnAdd = "checked +"
	fnSub = "checked -"
	fnMul = "checked *"
	fnNeg = "checked unary -"
	fnSum = "checked sum"
	fnAbs = "checked abs"
	fnInt = "checked int"
)

// checkedIntegers makes an expression's integer +, -, * and unary - fail
// instead of wrapping around as Go's do. They are rewritten at compile time
// into calls of checking functions, where both operands are integers, or
// of a type the checker cannot tell (then a non-integer goes on to expr's
// own operator): expressions without integer arithmetic run as before.
func checkedIntegers() []expr.Option {
	return []expr.Option{
		expr.Function(fnAdd, add),
		expr.Function(fnSub, binary(subInt64, decimalOp(subDecimal, shiftSub))),
		expr.Function(fnMul, binary(mulInt64, decimalOp(mulDecimal, runtime.Multiply))),
		expr.Function(fnNeg, negate),
		expr.Function(fnSum, sum),
		expr.Function(fnAbs, abs),
		expr.Patch(integerOps{}),
	}
}

var checkedOps = map[string]string{"+": fnAdd, "-": fnSub, "*": fnMul}

// integerOps is the compile-time rewrite of checkedIntegers.
type integerOps struct{}

func (integerOps) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.BinaryNode:
		if n.Operator == "+" && mayBeText(n.Left.Type()) && mayBeText(n.Right.Type()) {
			// Text adds up within the evaluation's budget (see add). Text
			// and a number are left to the checker, which refuses them.
			call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: fnAdd}, Arguments: []ast.Node{n.Left, n.Right, &ast.IdentifierNode{Value: "$env"}}}
			if t := n.Type(); isIntegerKind(t) || t != nil && t.Kind() == reflect.String {
				call.SetType(t)
			}
			ast.Patch(node, call)
			return
		}
		fn, ok := checkedOps[n.Operator]
		if !ok || !mayBeInteger(n.Left.Type()) || !mayBeInteger(n.Right.Type()) {
			return
		}
		call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: fn}, Arguments: []ast.Node{n.Left, n.Right}}
		if isIntegerKind(n.Type()) {
			call.SetType(n.Type()) // else the checker types the call as any, as it did the operator
		}
		ast.Patch(node, call)
	case *ast.UnaryNode:
		if n.Operator != "-" || !mayBeInteger(n.Node.Type()) {
			return
		}
		if _, literal := n.Node.(*ast.IntegerNode); literal {
			return // -5: a constant that cannot overflow
		}
		call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: fnNeg}, Arguments: []ast.Node{n.Node}}
		if isIntegerKind(n.Type()) {
			call.SetType(n.Type())
		}
		ast.Patch(node, call)
	case *ast.BuiltinNode:
		// The builtins that add or negate integers do it unchecked too.
		var call *ast.CallNode
		switch {
		case n.Name == "abs" && len(n.Arguments) == 1 && mayBeInteger(n.Arguments[0].Type()):
			call = &ast.CallNode{Callee: &ast.IdentifierNode{Value: fnAbs}, Arguments: n.Arguments}
		case n.Name == "sum" && (len(n.Arguments) == 1 || len(n.Arguments) == 2) && mayBeInteger(n.Type()):
			values := n.Arguments[0]
			if len(n.Arguments) == 2 { // sum(items, #.qty): the sum of the mapped values
				values = &ast.BuiltinNode{Name: "map", Arguments: n.Arguments}
			}
			call = &ast.CallNode{Callee: &ast.IdentifierNode{Value: fnSum}, Arguments: []ast.Node{values}}
		default:
			return
		}
		if isIntegerKind(n.Type()) {
			call.SetType(n.Type())
		}
		ast.Patch(node, call)
	}
}

// sum is expr's sum with integer overflow checked: exact while every value
// is an integer, then exact over decimals (addDecimals), else expr's own
// addition (floats).
func sum(p ...any) (any, error) {
	v := reflect.ValueOf(p[0])
	if v.Kind() != reflect.Slice && v.Kind() != reflect.Array {
		return nil, fmt.Errorf("sum of %T, not an array", p[0])
	}
	var total any = 0
	exact := true
	for i := range v.Len() {
		x := v.Index(i).Interface()
		a, okA := toInt64(total)
		b, okB := toInt64(x)
		if exact && okA && okB {
			r, ok := addInt64(a, b)
			if !ok {
				return nil, ErrIntegerOverflow
			}
			total = int(r)
			continue
		}
		exact = false
		r, err := addDecimals(total, x)
		if err != nil {
			return nil, err
		}
		total = r
	}
	return total, nil
}

// abs is expr's abs with the smallest integer, whose absolute value does
// not fit, an overflow.
func abs(p ...any) (any, error) {
	if d, ok := p[0].(decimal.Decimal); ok {
		return d.Abs(), nil
	}
	a, ok := toInt64(p[0])
	switch {
	case !ok:
		return builtin.Abs(p[0]), nil
	case a == math.MinInt64:
		return nil, ErrIntegerOverflow
	case a < 0:
		return int(-a), nil
	}
	return int(a), nil
}

// toInt is expr's int with a float beyond an integer's range (or not a
// number) an overflow, where Go's conversion gives any value at all.
func toInt(p ...any) (any, error) {
	var f float64
	switch x := p[0].(type) {
	case decimal.Decimal:
		// Truncated, as of a float; an integer part beyond 64 bits overflows.
		i := x.Truncate(0)
		if !i.BigInt().IsInt64() {
			return nil, ErrIntegerOverflow
		}
		return int(i.IntPart()), nil
	case float64:
		f = x
	case float32:
		f = float64(x)
	default:
		return builtin.Int(x), nil
	}
	if math.IsNaN(f) || f >= math.MaxInt64 || f < math.MinInt64 {
		return nil, ErrIntegerOverflow
	}
	return int(f), nil
}

// isIntegerKind says whether t is one of Go's integer types (not a named
// one: time.Duration adds up as durations).
func isIntegerKind(t reflect.Type) bool {
	return t != nil && t.PkgPath() == "" && t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64
}

func mayBeInteger(t reflect.Type) bool {
	return t == nil || t.Kind() == reflect.Interface || isIntegerKind(t)
}

func mayBeText(t reflect.Type) bool {
	return t == nil || t.Kind() == reflect.Interface || t.Kind() == reflect.String
}

// add is the checked +: exact on two integers; on two strings their
// concatenation, within the text budget of the evaluation whose
// environment ($env) it is given, when given one; else expr's own +.
func add(p ...any) (any, error) {
	if len(p) == 3 {
		if a, ok := p[0].(string); ok {
			if b, ok := p[1].(string); ok {
				if err := spend(p[2], len(a)+len(b)); err != nil {
					return nil, err
				}
				return a + b, nil
			}
		}
	}
	return binary(addInt64, addDecimals)(p[0], p[1])
}

// addDecimals is + on operands that are not both integers: exact when
// either is a decimal, else expr's own.
var addDecimals = decimalOp(addDecimal, shiftAdd)

// binary is a checked operator: exact on two integers, else fallback (on
// decimals exact too, else expr's own op: decimalOp).
func binary(checked func(a, b int64) (int64, bool), fallback func(...any) (any, error)) func(...any) (any, error) {
	return func(p ...any) (any, error) {
		a, okA := toInt64(p[0])
		b, okB := toInt64(p[1])
		if !okA || !okB {
			return fallback(p[0], p[1])
		}
		r, ok := checked(a, b)
		if !ok {
			return nil, ErrIntegerOverflow
		}
		return int(r), nil // expr's own integer arithmetic gives int
	}
}

func negate(p ...any) (any, error) {
	if d, ok := p[0].(decimal.Decimal); ok {
		return d.Neg(), nil
	}
	a, ok := toInt64(p[0])
	if !ok {
		return runtime.Negate(p[0]), nil
	}
	if a == math.MinInt64 {
		return nil, ErrIntegerOverflow
	}
	return int(-a), nil
}

func addInt64(a, b int64) (int64, bool) {
	r := a + b
	return r, (r > a) == (b > 0)
}

func subInt64(a, b int64) (int64, bool) {
	r := a - b
	return r, (r < a) == (b > 0)
}

func mulInt64(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	r := a * b
	if r/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		return 0, false
	}
	return r, true
}

// toInt64 is v as an int64 when v is an integer that fits one.
func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case int16:
		return int64(x), true
	case int8:
		return int64(x), true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint:
		return int64(x), x <= math.MaxInt64
	case uint64:
		return int64(x), x <= math.MaxInt64
	}
	return 0, false
}
