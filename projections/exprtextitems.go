package projections

import (
	"errors"
	"reflect"

	"github.com/expr-lang/expr/ast"
)

// fnItems is a value an index reads or a builtin walks where the checker
// could not type it (a jsonb): an array or an object as it is, text an
// error. expr-lang's would index and walk text by its UTF-8 bytes (tags[0]
// of "héllo" the number 104); a jsonb holding text has no items, as
// PostgreSQL's '"hello"'::jsonb -> 0 is NULL. Declared text is typed, and
// keeps its own slicing (fnSlice).
const fnItems = "checked items"

var errTextItems = errors.New("text has no items to index or iterate")

func itemsOf(p ...any) (any, error) {
	if _, ok := p[0].(string); ok {
		return nil, errTextItems
	}
	return p[0], nil
}

// walksItems are the builtins that index or walk their first argument's
// items without checking it is an array. The others that take an array
// (take, reverse, concat, flatten, join, sort, uniq, sum of one argument,
// max…) refuse text themselves.
var walksItems = map[string]bool{
	"all": true, "none": true, "any": true, "one": true, "filter": true, "map": true, "count": true,
	"sum": true, "find": true, "findIndex": true, "findLast": true, "findLastIndex": true,
	"groupBy": true, "sortBy": true, "reduce": true, "first": true, "last": true, "get": true,
}

// textItems is the compile-time rewrite putting fnItems before what they
// index or walk, when the checker could not type it.
type textItems struct{}

func (textItems) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.MemberNode:
		// info.a (a name) fails on text by itself: only an index may read
		// a byte.
		if _, name := n.Property.(*ast.StringNode); !name && untyped(n.Node) {
			n.Node = itemsCall(n.Node)
		}
	case *ast.BuiltinNode:
		if walksItems[n.Name] && len(n.Arguments) > 0 && untyped(n.Arguments[0]) {
			n.Arguments[0] = itemsCall(n.Arguments[0])
		}
	}
}

// untyped says whether the checker could not type n: a jsonb, a member or
// item of one, a column of no declared type.
func untyped(n ast.Node) bool {
	t := n.Type()
	return t == nil || t.Kind() == reflect.Interface
}

func itemsCall(n ast.Node) ast.Node {
	return &ast.CallNode{Callee: &ast.IdentifierNode{Value: fnItems}, Arguments: []ast.Node{n}}
}
