package projections

import (
	"math"
	"reflect"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/vm/runtime"
	"github.com/shopspring/decimal"
)

// runtimeChecks makes int() of a float beyond an integer's range an
// overflow (toInt), numerics compute exactly (decimalOps), and the
// builtins that build text count it against the budget before they build
// it (textCall); a jsonb's text is no array (textItems), and an object's
// keys come in jsonb's order (keyOrder). Their calls hide their operands
// from the checker: the program that runs is compiled with them apart
// from the one validation checks (see compiler.expr).
func runtimeChecks() []expr.Option {
	opts := append(append(append(append(decimalOptions(), textBuiltins()...), boundedBuiltins()...), keyOrderOptions()...), dateShiftOptions()...)
	return append(opts, expr.Function(fnInt, toInt), expr.Function(fnString, toString), expr.Function(fnNow, nowOf),
		expr.Function(fnSlice, sliceOf), expr.Function(fnItems, itemsOf),
		expr.Patch(textItems{}), expr.Patch(keyOrder{}), expr.Patch(runtimeOps{}), expr.Patch(decimalOps{}))
}

// fnString is string() of a null: null, as SQL's CAST(NULL AS text), where
// expr-lang's gives the text "<nil>"; of a time, RFC 3339 in UTC, as the
// documents write one (expr-lang's is Go's "2024-01-02 10:00:00 +0000
// UTC"); of text, itself; of anything else, expr-lang's, counted against
// the text budget before it is built (its last argument is $env).
const fnString = "checked string"

func toString(p ...any) (any, error) {
	switch x := p[0].(type) {
	case nil:
		return nil, nil
	case string:
		return x, nil
	case time.Time:
		return TimeText(x), nil
	case decimal.Decimal:
		return DecimalText(x), nil // as PostgreSQL's numeric::text: 1.50
	}
	v := plain(p[0])
	if err := spendOnText(p[len(p)-1], v); err != nil {
		return nil, err
	}
	return builtin.String(v), nil
}

// runtimeOps is the compile-time rewrite of runtimeChecks.
type runtimeOps struct{}

// fnSlice is x[a:b]: of text, by characters, as len() counts them and
// PostgreSQL's substr does (expr-lang's slices bytes, and cuts a
// character in two); of an array, expr-lang's.
const fnSlice = "checked slice"

func sliceOf(p ...any) (any, error) {
	if s, ok := p[0].(string); ok {
		r, _ := runtime.Slice([]rune(s), p[1], p[2]).([]rune)
		return string(r), nil
	}
	return runtime.Slice(p[0], p[1], p[2]), nil
}

// sliceCall is x[a:b] as a call of fnSlice: a bound left out is the
// start, or past the end (Slice holds bounds to the length).
func sliceCall(n *ast.SliceNode) *ast.CallNode {
	from, to := n.From, n.To
	if from == nil {
		from = &ast.IntegerNode{Value: 0}
	}
	if to == nil {
		to = &ast.IntegerNode{Value: math.MaxInt32}
	}
	return &ast.CallNode{Callee: &ast.IdentifierNode{Value: fnSlice}, Arguments: []ast.Node{n.Node, from, to}}
}

func (runtimeOps) Visit(node *ast.Node) {
	if n, ok := (*node).(*ast.SliceNode); ok {
		ast.Patch(node, sliceCall(n))
		return
	}
	if m, ok := (*node).(*ast.BinaryNode); ok && m.Operator == "matches" {
		if call := matchesCall(m); call != nil {
			ast.Patch(node, call)
		}
		return
	}
	b, ok := (*node).(*ast.BuiltinNode)
	if !ok {
		return
	}
	if b.Name == "int" && len(b.Arguments) == 1 {
		call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: fnInt}, Arguments: b.Arguments}
		call.SetType(reflect.TypeFor[int]())
		ast.Patch(node, call)
	} else if b.Name == "string" && len(b.Arguments) == 1 {
		args := []ast.Node{b.Arguments[0], &ast.IdentifierNode{Value: "$env"}}
		call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: fnString}, Arguments: args}
		call.SetType(reflect.TypeFor[string]())
		ast.Patch(node, call)
	} else if call := nowCall(b); call != nil {
		ast.Patch(node, call)
	} else if call := textCall(b); call != nil {
		ast.Patch(node, call)
	} else if call := boundedCall(b); call != nil {
		ast.Patch(node, call)
	}
}
