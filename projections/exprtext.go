package projections

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/shopspring/decimal"
)

// The builtins that build text, rewritten to count it against the
// evaluation's TextBudget before they build it, as the checked + does:
// replace(s, "", s) grows with the square of its input, repeat and join
// with their arguments, and each would otherwise allocate all of it first.
const (
	fnReplace = "checked replace"
	fnRepeat  = "checked repeat"
	fnJoin    = "checked join"
	fnMatches = "checked matches"
)

// budgeted are the calls whose last argument is the evaluation's $env,
// given for its budget: not a read of the environment (findReads).
var budgeted = map[string]bool{fnAdd: true, fnReplace: true, fnRepeat: true, fnJoin: true, fnMatches: true,
	fnSplit: true, fnSplitAfter: true, fnNow: true, fnString: true, fnDecJSON: true}

func textBuiltins() []expr.Option {
	return []expr.Option{
		expr.Function(fnReplace, replaceText),
		expr.Function(fnRepeat, repeatText),
		expr.Function(fnJoin, joinText),
		expr.Function(fnMatches, matchesText),
	}
}

// maxPattern bounds a regular expression that comes from a row rather than
// the file (s matches other_column): Go's engine runs in linear time, but
// compiling expands counted repetitions (a{1000} is a thousand steps), so
// a long pattern from data could cost hundreds of megabytes every row.
const maxPattern = 1 << 10

// matchesCall is the bounded call replacing s matches p when p is not a
// literal (a literal is compiled once, with the expression).
func matchesCall(n *ast.BinaryNode) *ast.CallNode {
	if _, literal := n.Right.(*ast.StringNode); literal {
		return nil
	}
	call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: fnMatches},
		Arguments: []ast.Node{n.Left, n.Right, &ast.IdentifierNode{Value: "$env"}}}
	call.SetType(reflect.TypeFor[bool]())
	return call
}

func matchesText(p ...any) (any, error) {
	s, ok1 := p[0].(string)
	pattern, ok2 := p[1].(string)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("matches needs strings, got %T, %T", p[0], p[1])
	}
	if len(pattern) > maxPattern {
		return nil, fmt.Errorf("a pattern from a row is at most %d bytes, this one is %d", maxPattern, len(pattern))
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	return re.MatchString(s), nil
}

// textCall is the budgeted call replacing the builtin n, when it is one.
func textCall(n *ast.BuiltinNode) *ast.CallNode {
	var fn string
	switch {
	case n.Name == "replace" && len(n.Arguments) == 3:
		fn = fnReplace
	case n.Name == "repeat" && len(n.Arguments) == 2:
		fn = fnRepeat
	case n.Name == "join" && (len(n.Arguments) == 1 || len(n.Arguments) == 2):
		fn = fnJoin
	default:
		return nil
	}
	args := append(append([]ast.Node{}, n.Arguments...), &ast.IdentifierNode{Value: "$env"})
	call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: fn}, Arguments: args}
	call.SetType(reflect.TypeFor[string]())
	return call
}

// budgetOf is the budget of the evaluation whose environment is env; nil
// outside Run.
func budgetOf(env any) *textBudget {
	m, _ := env.(map[string]any)
	left, _ := m[budgetVar].(*textBudget)
	return left
}

// spend takes n bytes from the budget of the evaluation whose environment
// is env.
func spend(env any, n int) error {
	if left := budgetOf(env); left != nil {
		if left.bytes -= n; left.bytes < 0 {
			return ErrTextBudget
		}
	}
	return nil
}

func replaceText(p ...any) (any, error) {
	s, ok1 := p[0].(string)
	old, ok2 := p[1].(string)
	with, ok3 := p[2].(string)
	if !ok1 || !ok2 || !ok3 {
		return nil, fmt.Errorf("replace needs strings, got %T, %T, %T", p[0], p[1], p[2])
	}
	n := strings.Count(s, old) // "" matches before each character and at the end
	if old == "" {
		n = utf8.RuneCountInString(s) + 1
	}
	size := len(s) // at most, when with is no longer than old
	if grow := len(with) - len(old); grow > 0 {
		if n > TextBudget/grow {
			return nil, ErrTextBudget // before multiplying, which could wrap
		}
		size += n * grow
	}
	if err := spend(p[3], size); err != nil {
		return nil, err
	}
	return strings.ReplaceAll(s, old, with), nil
}

func repeatText(p ...any) (any, error) {
	s, ok := p[0].(string)
	n, okN := toInt64(p[1])
	switch {
	case !ok || !okN:
		return nil, fmt.Errorf("repeat needs a string and an integer, got %T, %T", p[0], p[1])
	case n < 0:
		return nil, fmt.Errorf("repeat count %d is negative", n)
	case len(s) > 0 && n > int64(TextBudget/len(s)):
		return nil, ErrTextBudget
	}
	if err := spend(p[2], len(s)*int(n)); err != nil {
		return nil, err
	}
	return strings.Repeat(s, int(n)), nil
}

func joinText(p ...any) (any, error) {
	glue := ""
	env := p[len(p)-1]
	if len(p) == 3 {
		g, ok := p[1].(string)
		if !ok {
			return nil, fmt.Errorf("join's separator is a %T, not a string", p[1])
		}
		glue = g
	}
	var parts []string
	switch x := p[0].(type) {
	case []string:
		parts = x
	case []any:
		parts = make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			switch v := e.(type) {
			case decimal.Decimal: // a numeric[]'s element, as its text
				s, ok = DecimalText(v), true
			case time.Time: // a timestamp[]'s, as string() writes it
				s, ok = v.UTC().Format(time.RFC3339Nano), true
			}
			if !ok {
				return nil, fmt.Errorf("join of a %T, not a string", e)
			}
			parts[i] = s
		}
	default:
		return nil, fmt.Errorf("join of a %T, not an array", p[0])
	}
	size := max(0, len(parts)-1) * len(glue)
	for _, s := range parts {
		size += len(s)
	}
	if err := spend(env, size); err != nil {
		return nil, err
	}
	return strings.Join(parts, glue), nil
}
