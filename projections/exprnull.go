package projections

import (
	"errors"
	"reflect"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm/runtime"
)

// ErrNullOperand is a comparison with a null value, which is null, as in
// SQL (NULL <> 1 is no more true than NULL = 1): the expression gives null
// and a where does not pass. Comparing with the nil literal (n == nil) is
// how a null is tested, and stays true or false.
var ErrNullOperand = errors.New("comparison with null")

const (
	fnEqual    = "checked =="
	fnNotEqual = "checked !="
	fnIn       = "checked in"
)

// runtimeChecks makes ==, != and in over a null value fail as the other
// comparisons (<, >) and the text ones already do in expr-lang, whose
// generic equality takes nil == 1 as false and nil != 1 as true; and int()
// of a float beyond an integer's range an overflow (toInt); and the
// builtins that build text count it against the budget (textCall). Its calls hide
// their operands from the checker: the program that runs is compiled with
// them apart from the one validation checks (see compiler.expr).
func runtimeChecks() []expr.Option {
	return append(textBuiltins(),
		expr.Function(fnEqual, func(p ...any) (any, error) {
			if p[0] == nil || p[1] == nil {
				return nil, ErrNullOperand
			}
			return runtime.Equal(p[0], p[1]), nil
		}, compare),
		expr.Function(fnNotEqual, func(p ...any) (any, error) {
			if p[0] == nil || p[1] == nil {
				return nil, ErrNullOperand
			}
			return !runtime.Equal(p[0], p[1]), nil
		}, compare),
		expr.Function(fnIn, func(p ...any) (any, error) {
			if p[0] == nil {
				return nil, ErrNullOperand
			}
			return runtime.In(p[0], p[1]), nil
		}, compare),
		expr.Function(fnInt, toInt),
		expr.Patch(nullOps{}),
	)
}

// compare is the checked comparisons' type: declared, so that the checker
// still looks into their operands (an unknown name is reported).
var compare = new(func(any, any) bool)

var nullOperators = map[string]string{"==": fnEqual, "!=": fnNotEqual, "in": fnIn}

// nullOps is the compile-time rewrite of runtimeChecks.
type nullOps struct{}

func (nullOps) Visit(node *ast.Node) {
	if b, ok := (*node).(*ast.BuiltinNode); ok {
		if b.Name == "int" && len(b.Arguments) == 1 {
			call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: fnInt}, Arguments: b.Arguments}
			call.SetType(reflect.TypeFor[int]())
			ast.Patch(node, call)
		} else if call := textCall(b); call != nil {
			ast.Patch(node, call)
		}
		return
	}
	n, ok := (*node).(*ast.BinaryNode)
	if !ok {
		return
	}
	fn, ok := nullOperators[n.Operator]
	if !ok || isNil(n.Left) || n.Operator != "in" && isNil(n.Right) {
		return
	}
	call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: fn}, Arguments: []ast.Node{n.Left, n.Right}}
	call.SetType(reflect.TypeFor[bool]())
	ast.Patch(node, call)
}

func isNil(n ast.Node) bool {
	_, ok := n.(*ast.NilNode)
	return ok
}
