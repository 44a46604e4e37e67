package projections

import (
	"errors"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
)

// ErrTextBudget is an evaluation that built more text than TextBudget
// bytes, adding strings up: the field it computes is null.
var ErrTextBudget = errors.New("expression built more than 16 MB of text")

// TextBudget is how many bytes an evaluation's string additions may
// produce in all. Expressions run while the state is locked, and a
// reduce that adds a character per step builds text in quadratic time
// (300,000 steps took 12 s): the budget bounds each evaluation to a few
// milliseconds of copying, while a document's worth of text fits.
const TextBudget = 16 << 20

// budgetVar is where Run puts the evaluation's text budget in its
// environment; no expression can name it.
const budgetVar = "checked text budget"

// textBudget is what an evaluation may still build: bytes of text, and
// items of the arrays split makes, which expr's own memory budget does not
// count.
type textBudget struct{ bytes, items int }

// Run evaluates x over env, which it may change, within TextBudget and
// expr's own memory budget (a million items of ranges and arrays).
func (x *Expr) Run(env map[string]any) (any, error) {
	env[budgetVar] = &textBudget{bytes: TextBudget, items: maxItems}
	return expr.Run(x.Program, env)
}

// Reads lists the names x reads from its environment: a column of the row
// or a field computed before it. all reports an expression that reaches the
// environment as a whole ($env), which may read anything.
func (x *Expr) Reads() (names []string, all bool) {
	x.readsOnce.Do(func() { x.reads, x.readsAll = x.findReads() })
	return x.reads, x.readsAll
}

// ReadsClock reports whether the expression calls now(): its result can
// change with no change to the row it reads.
func (x *Expr) ReadsClock() bool {
	if x == nil {
		return false
	}
	found := false
	ast.Find(x.Program.Node(), func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BuiltinNode:
			found = found || n.Name == "now"
		case *ast.CallNode:
			id, ok := n.Callee.(*ast.IdentifierNode)
			found = found || ok && (id.Value == "now" || id.Value == fnNow)
		}
		return false
	})
	return found
}

func (x *Expr) findReads() (names []string, all bool) {
	root := x.Program.Node()
	// Not reads: the names of functions called, and the $env the checked
	// + and text builtins are given (see add, textCall).
	ours := map[ast.Node]bool{}
	ast.Find(root, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallNode); ok {
			ours[c.Callee] = true
			if id, ok := c.Callee.(*ast.IdentifierNode); ok && budgeted[id.Value] && len(c.Arguments) > 0 {
				if last, ok := c.Arguments[len(c.Arguments)-1].(*ast.IdentifierNode); ok && last.Value == "$env" {
					ours[last] = true
				}
			}
		}
		return false
	})
	seen := map[string]bool{}
	ast.Find(root, func(n ast.Node) bool {
		id, ok := n.(*ast.IdentifierNode)
		switch {
		case !ok || ours[n]:
		case id.Value == "$env":
			all = true
		case !seen[id.Value]:
			seen[id.Value] = true
			names = append(names, id.Value)
		}
		return false
	})
	return names, all
}
