package projections

import (
	"reflect"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm/runtime"
)

// fnDateShift is a time plus or minus a duration: a timestamp, also when
// the time is a date, as PostgreSQL's date + interval is. expr-lang's
// keeps the date's zone (DateZone), so a whole number of days added to a
// date would still be written as a date, and the same field would change
// form with its value.
const fnDateShift = "checked time shift"

var durationType = reflect.TypeFor[time.Duration]()

func dateShiftOptions() []expr.Option {
	return []expr.Option{expr.Function(fnDateShift, func(p ...any) (any, error) {
		if p[0] == "-" {
			return shiftSub(p[1], p[2]), nil
		}
		return shiftAdd(p[1], p[2]), nil
	}), expr.Patch(dateShift{})}
}

// shiftAdd and shiftSub are expr-lang's + and - with a date shifted out of
// DateZone: also what the checked + and - fall back on for operands the
// checker could not type (first([d]) + duration('24h'), #acc in reduce).
func shiftAdd(a, b any) any { return leaveDateZone(runtime.Add(a, b)) }
func shiftSub(a, b any) any { return leaveDateZone(runtime.Subtract(a, b)) }

func leaveDateZone(r any) any {
	if ts, ok := r.(time.Time); ok && ts.Location() == DateZone {
		return ts.UTC()
	}
	return r
}

// dateShift is the compile-time rewrite of + and - between a time and a
// duration into fnDateShift.
type dateShift struct{}

func (dateShift) Visit(node *ast.Node) {
	n, ok := (*node).(*ast.BinaryNode)
	if !ok || n.Operator != "+" && n.Operator != "-" {
		return
	}
	l, r := n.Left.Type(), n.Right.Type()
	if !(l == timeType && r == durationType || n.Operator == "+" && l == durationType && r == timeType) {
		return
	}
	call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: fnDateShift}, Arguments: []ast.Node{&ast.StringNode{Value: n.Operator}, n.Left, n.Right}}
	call.SetType(timeType)
	ast.Patch(node, call)
}
