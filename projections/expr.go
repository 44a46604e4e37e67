package projections

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/types"

	"github.com/projectorhq/projector/config"
)

// boolean is what a where expression must give.
var boolean = config.Type{Name: "boolean", Precision: -1, Scale: -1}

// where compiles a filter: an expression over the scope's columns that
// must give a boolean, since anything else would drop every row at run time.
func (c *compiler) where(sc scope, src *string, fallback config.Pos) *Expr {
	return c.expr(sc, src, fallback, nil, boolean)
}

// expr compiles the expression *src over the scope's columns and the fields
// computed before it at the same level, and checks that its result fits a
// field of type want. Errors point into the expression's text where the
// config recorded it, else at fallback.
func (c *compiler) expr(sc scope, src *string, fallback config.Pos, prior []*Field, want config.Type) *Expr {
	return c.exprOver(sc, sc.source.Columns, src, fallback, prior, want)
}

// groupExpr compiles an expr field of a group_by view: over its group_by
// columns and the fields before it (group columns and aggregates), not
// the group's rows, whose other columns differ from row to row.
func (c *compiler) groupExpr(sc scope, src *string, fallback config.Pos, prior []*Field, want config.Type) *Expr {
	cols := map[string]config.Type{}
	for _, col := range c.groupBy(sc) {
		cols[col] = sc.source.Columns[col] // of no type when undeclared: any
	}
	before := len(c.errs)
	x := c.exprOver(sc, cols, src, fallback, prior, want)
	if x == nil && len(c.errs) > before && strings.Contains(c.errs[len(c.errs)-1].Msg, "unknown name") {
		c.errs[len(c.errs)-1].Msg += " (an expr of a group_by view sees its group_by columns and the fields before it, not the rows' other columns: aggregate them first)"
	}
	return x
}

// exprOver is expr over the columns cols of the scope's source (nil: its
// columns are undeclared, so any name is one).
func (c *compiler) exprOver(sc scope, cols map[string]config.Type, src *string, fallback config.Pos, prior []*Field, want config.Type) *Expr {
	env, jsonbs := types.Map{}, map[string]bool{}
	for col, t := range cols {
		env[col] = checkedType(t)
		jsonbs[col] = isJSONB(t)
		c.use(sc.source, col) // conservative: an expression may read any column
	}
	for _, f := range prior {
		switch {
		case f.Kind == KindMany:
			env[f.Name] = types.TypeOf([]any{})
		case f.Kind == KindColumn && cols == nil:
			// An undeclared column, of any type (stored as jsonb): left
			// undefined, which the checker lets be anything.
		case f.Kind == KindColumn && cols[f.Column].Name == "":
			// A column of a type config.Load refused, or of none: as its
			// column, of any type, rather than a second problem about jsonb.
			env[f.Name] = types.Any
			jsonbs[f.Name] = false
		default:
			env[f.Name] = checkedType(f.Type)
			jsonbs[f.Name] = isJSONB(f.Type)
		}
	}
	opts := append(append([]expr.Option{expr.Env(env)}, checkedIntegers()...), modOptions()...)
	if cols == nil {
		opts = append(opts, expr.AllowUndefinedVariables())
	}
	if family(want) == "boolean" && !want.Array {
		opts = append(opts, expr.AsBool())
	}
	prog, err := expr.Compile(*src, opts...)
	if err != nil {
		p := c.cfg.ValuePos(src, fallback)
		msg := err.Error()
		var fe *file.Error
		if errors.As(err, &fe) {
			msg = fe.Message
			p = c.cfg.TextPos(src, fe.Line, fe.Column+1, p)
		}
		if c.cfg.FromEnv(src) {
			// The compiler's words name what it read: the environment's.
			msg = "it does not compile"
		}
		c.errs.Add(p, "%s: invalid expression %s: %s%s", sc.path, c.cfg.Show(src), userTypes.Replace(msg), sqlHint(*src))
		return nil
	}
	if name, ok := jsonbAlone(prog.Node(), jsonbs); ok && want.Name != "" && !want.Array && family(want) != "jsonb" && family(want) != "json" {
		// The checker lets a jsonb be anything (an array or object to
		// index, a number); whole, into a field of another type, it is
		// most likely a mistake, which would fail for every document.
		c.errs.Add(c.cfg.ValuePos(src, fallback), "%s: expression %s gives a whole jsonb, which does not fit type %s (take a value out of it: %s.name, %s[0])",
			sc.path, c.cfg.Show(src), want, name, name)
		return nil
	}
	if rt := prog.Node().Type(); !fits(want, rt) {
		hint := ""
		if isInteger(want) && rt != nil && rt.Kind() == reflect.Float64 {
			hint = " (int(…) truncates it, int(round(…)) rounds it; or declare a numeric type)"
		}
		c.errs.Add(c.cfg.ValuePos(src, fallback), "%s: expression %s gives %s, which does not fit type %s%s",
			sc.path, c.cfg.Show(src), userTypes.Replace(fmt.Sprint(rt)), want, hint)
		return nil
	}
	// What runs compares with null as SQL does (runtimeChecks). It is
	// compiled apart: its calls hide from the checker the operands of the
	// comparisons they replace, whose problems the compile above reported.
	run, err := expr.Compile(*src, append(opts, runtimeChecks()...)...)
	if err != nil {
		why := err.Error()
		if c.cfg.FromEnv(src) {
			why = "it does not compile"
		}
		c.errs.Add(c.cfg.ValuePos(src, fallback), "%s: invalid expression %s: %s", sc.path, c.cfg.Show(src), why)
		return nil
	}
	return &Expr{Source: *src, Program: run}
}

var timeType = reflect.TypeFor[time.Time]()

// checkedType is what the checker takes a value of type t for: its Sample's
// type, except a jsonb or json, which is of any type (an object, an array,
// a number: its value says), so that info[0], info.a and any(info, …)
// check, and a column of no declared type, which is any value too. The
// running program sees its decoded JSON (ExprValue).
func checkedType(t config.Type) types.Type {
	if t.Name == "" || isJSONB(t) {
		return types.Any
	}
	return types.TypeOf(Sample(t))
}

func isJSONB(t config.Type) bool { return !t.Array && (t.Name == "jsonb" || t.Name == "json") }

// jsonbAlone reports the name of the jsonb the expression n is, when it is
// nothing but one.
func jsonbAlone(n ast.Node, jsonbs map[string]bool) (string, bool) {
	id, ok := n.(*ast.IdentifierNode)
	if !ok || !jsonbs[id.Value] {
		return "", false
	}
	return id.Value, true
}

// sqlHints spot SQL written where expr-lang is expected, when an
// expression does not compile, and say what to write.
var sqlHints = []struct {
	re   *regexp.Regexp
	hint string
}{
	{regexp.MustCompile(`(^|[^=!<>])=($|[^=~])`), "write == to compare; = is SQL's"},
	{regexp.MustCompile(`<>`), "write != for SQL's <>"},
	{regexp.MustCompile(`(?i)\bis\s+(not\s+)?null\b`), "write == nil or != nil for SQL's IS [NOT] NULL"},
	{regexp.MustCompile(`\b(AND|OR|NOT|IN)\b`), "and, or, not and in are lower case"},
	{regexp.MustCompile(`(?i)\blike\b`), "use contains, startsWith, endsWith or matches for SQL's LIKE"},
	{regexp.MustCompile(`\|\|`), "+ joins text; || is or"},
	{regexp.MustCompile(`\bin\s*\(`), "in takes a list in brackets: in [1, 2]"},
}

func sqlHint(src string) string {
	for _, h := range sqlHints {
		if h.re.MatchString(src) {
			return "; " + h.hint
		}
	}
	return ""
}

// userTypes names the Go types an expression's values have (see Sample)
// as expressions speak of them, in messages.
var userTypes = strings.NewReplacer(
	"map[string]interface {}", "object",
	"[]interface {}", "array",
	"[]string", "array",
	"interface {}", "any",
	"time.Time", "timestamp",
	"time.Duration", "duration",
	"float64", "float",
	"int64", "int",
	"<nil>", "null",
)

// fits reports whether a value of Go type rt (an expression's result, nil
// or an interface when the checker cannot tell) can fill a field of type t.
func fits(t config.Type, rt reflect.Type) bool {
	if rt == nil || rt.Kind() == reflect.Interface || t.Name == "" {
		return true
	}
	k := rt.Kind()
	integer := k >= reflect.Int && k <= reflect.Uint64
	if t.Array {
		return k == reflect.Slice || k == reflect.Array
	}
	switch family(t) {
	case "integer":
		return integer
	case "number":
		return integer || k == reflect.Float32 || k == reflect.Float64
	case "boolean", "bool":
		return k == reflect.Bool
	case "text":
		return k == reflect.String
	case "timestamp", "date", "time":
		return rt == timeType || k == reflect.String // text is parsed at run time, null if it is none
	case "bytea":
		return k == reflect.String || k == reflect.Slice && rt.Elem().Kind() == reflect.Uint8
	}
	return true // jsonb takes anything; other types are sent as text
}
