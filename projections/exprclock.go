package projections

import (
	"reflect"
	"time"

	"github.com/expr-lang/expr/ast"
)

// now() reads the evaluation's clock: the wall clock, or an instant the
// caller pinned (PinClock), so that `projector test` cases of a view
// keeping the last 30 days give the same documents every day.

// fnNow is the call replacing the builtin now(), given the evaluation's
// $env, and clockVar where PinClock puts the instant in it (no expression
// can name it).
const (
	fnNow    = "checked now"
	clockVar = "checked clock"
)

// PinClock makes now() give t in the evaluation of env (see Expr.Run).
func PinClock(env map[string]any, t time.Time) {
	env[clockVar] = t
}

func nowOf(p ...any) (any, error) {
	if env, ok := p[0].(map[string]any); ok {
		if t, ok := env[clockVar].(time.Time); ok {
			return t, nil
		}
	}
	return time.Now(), nil
}

// nowCall is the call replacing n when it is now().
func nowCall(n *ast.BuiltinNode) *ast.CallNode {
	if n.Name != "now" || len(n.Arguments) != 0 {
		return nil
	}
	call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: fnNow}, Arguments: []ast.Node{&ast.IdentifierNode{Value: "$env"}}}
	call.SetType(reflect.TypeFor[time.Time]())
	return call
}
