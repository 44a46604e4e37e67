package projections

import (
	"fmt"
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

// nowOf is now() or now(location), its last argument the evaluation's
// environment.
func nowOf(p ...any) (any, error) {
	t := time.Now()
	if env, ok := p[len(p)-1].(map[string]any); ok {
		if pinned, ok := env[clockVar].(time.Time); ok {
			t = pinned
		}
	}
	// PostgreSQL's now() has microseconds: a document writes no more.
	t = t.Truncate(time.Microsecond)
	if len(p) == 2 {
		loc, ok := p[0].(*time.Location)
		if !ok {
			return nil, fmt.Errorf("now: want a time zone, got %T", p[0])
		}
		t = t.In(loc)
	}
	return t, nil
}

// nowCall is the call replacing n when it is now() or now(location).
func nowCall(n *ast.BuiltinNode) *ast.CallNode {
	if n.Name != "now" || len(n.Arguments) > 1 {
		return nil
	}
	args := append(append([]ast.Node{}, n.Arguments...), &ast.IdentifierNode{Value: "$env"})
	call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: fnNow}, Arguments: args}
	call.SetType(reflect.TypeFor[time.Time]())
	return call
}
