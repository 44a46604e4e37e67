package projections

import (
	"reflect"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
)

// runtimeChecks makes int() of a float beyond an integer's range an
// overflow (toInt), and the builtins that build text count it against the
// budget before they build it (textCall). Their calls hide their operands
// from the checker: the program that runs is compiled with them apart
// from the one validation checks (see compiler.expr).
func runtimeChecks() []expr.Option {
	return append(append(textBuiltins(), boundedBuiltins()...), expr.Function(fnInt, toInt), expr.Function(fnString, toString), expr.Function(fnNow, nowOf), expr.Patch(runtimeOps{}))
}

// fnString is string() of a null: null, as SQL's CAST(NULL AS text), where
// expr-lang's gives the text "<nil>"; of a time, RFC 3339 in UTC, as the
// documents write one (expr-lang's is Go's "2024-01-02 10:00:00 +0000
// UTC"); of anything else, expr-lang's.
const fnString = "checked string"

func toString(p ...any) (any, error) {
	switch x := p[0].(type) {
	case nil:
		return nil, nil
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), nil
	}
	return builtin.String(p[0]), nil
}

// runtimeOps is the compile-time rewrite of runtimeChecks.
type runtimeOps struct{}

func (runtimeOps) Visit(node *ast.Node) {
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
		call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: fnString}, Arguments: b.Arguments}
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
