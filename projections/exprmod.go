package projections

import (
	"math"
	"reflect"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm/runtime"
)

// fnMod is % of operands one of which may be no integer (an unwritable
// name).
const fnMod = "checked %"

var floatType = reflect.TypeFor[float64]()

// modOptions let % take numerics: the checker types a numeric as a float
// (Sample), and expr-lang's % takes integers only, so `price % 1` (the
// cents of a price) was refused. A decimal computes exactly, as
// PostgreSQL's numeric % does (the remainder has the sign of the dividend
// and the larger scale: 10.25 % 3 is 1.25); a float as math.Mod does.
func modOptions() []expr.Option {
	return []expr.Option{expr.Function(fnMod, decimalOp(modDecimal, modulo)), expr.Patch(modOps{})}
}

type modOps struct{}

func (modOps) Visit(node *ast.Node) {
	n, ok := (*node).(*ast.BinaryNode)
	if !ok || n.Operator != "%" || !mayBeNumber(n.Left.Type()) || !mayBeNumber(n.Right.Type()) ||
		!mayBeDecimal(n.Left.Type()) && !mayBeDecimal(n.Right.Type()) {
		return // integers (expr-lang's %), or what the checker refuses
	}
	t := floatType
	if n.Left.Type() == nil || n.Left.Type().Kind() == reflect.Interface || n.Right.Type() == nil || n.Right.Type().Kind() == reflect.Interface {
		t = nil // of an operand the checker cannot type: of no type either
	}
	patchCall(node, fnMod, t, n.Left, n.Right)
}

func mayBeNumber(t reflect.Type) bool {
	return mayBeDecimal(t) || isIntegerKind(t)
}

// modulo is % of numbers that are no decimals: integers as expr-lang's,
// a float as math.Mod (x % 0 is NaN, which no field holds: null).
func modulo(a, b any) any {
	fa, aFloat := a.(float64)
	fb, bFloat := b.(float64)
	if !aFloat && !bFloat {
		return runtime.Modulo(a, b)
	}
	if !aFloat {
		fa = runtime.ToFloat64(a)
	}
	if !bFloat {
		fb = runtime.ToFloat64(b)
	}
	return math.Mod(fa, fb)
}
