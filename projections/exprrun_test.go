package projections

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr"
)

// TestTextBudget: adding strings up is bounded per evaluation. A reduce
// that adds a character per step builds text in quadratic time (300,000
// steps took 12 s, holding the state lock); it fails once its additions
// produced TextBudget bytes. Text within the budget, and other additions,
// compute as before, also where the checker cannot tell the operands'
// types.
func TestTextBudget(t *testing.T) {
	declared := map[string]any{"n": int64(0), "s": ""}
	for _, tc := range []struct {
		name, src string
		row       map[string]any
		want      any // an error: errors.Is; a string: its length
	}{
		{"quadratic", `reduce(1..n, #acc + "#", "")`, map[string]any{"n": int64(300_000), "s": ""}, ErrTextBudget},
		{"quadratic, undeclared", `reduce(1..u, #acc + v, "")`, map[string]any{"u": 300_000, "v": "#"}, ErrTextBudget},
		{"within", `reduce(1..n, #acc + "#", "")`, map[string]any{"n": int64(4_000), "s": ""}, 4_000},
		{"big text once", `s + s`, map[string]any{"n": int64(0), "s": strings.Repeat("x", 4<<20)}, 8 << 20},
		{"too big text", `s + s + s + s`, map[string]any{"n": int64(0), "s": strings.Repeat("x", 4<<20)}, ErrTextBudget},
		{"integers", `reduce(1..n, #acc + #, 0)`, map[string]any{"n": int64(300_000), "s": ""}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]expr.Option{expr.Env(declared), expr.AllowUndefinedVariables()}, checkedIntegers()...)
			prog, err := expr.Compile(tc.src, opts...)
			if err != nil {
				t.Fatal(err)
			}
			x := &Expr{Source: tc.src, Program: prog}
			got, err := x.Run(tc.row)
			switch want := tc.want.(type) {
			case error:
				if !errors.Is(err, want) {
					t.Errorf("= %.20v…, %v; want error %v", got, err, want)
				}
			case int:
				if s, ok := got.(string); err != nil || !ok || len(s) != want {
					t.Errorf("= %.20v…, %v; want %d bytes of text", got, err, want)
				}
			default:
				if err != nil || got != 300_000*300_001/2 {
					t.Errorf("= %v, %v; want %d", got, err, 300_000*300_001/2)
				}
			}
		})
	}
}

// TestExprReads: the names an expression reads, for the state-columns
// check; the $env the checked + is given is not a read of everything.
func TestExprReads(t *testing.T) {
	declared := map[string]any{"n": int64(0), "s": "", "t": ""}
	for _, tc := range []struct {
		src  string
		want []string
		all  bool
	}{
		{`n * 2`, []string{"n"}, false},
		{`s + "x" + t`, []string{"s", "t"}, false},
		{`reduce(1..n, #acc + s, "")`, []string{"n", "s"}, false},
		{`$env["s"] + "x"`, nil, true},
	} {
		opts := append([]expr.Option{expr.Env(declared)}, checkedIntegers()...)
		prog, err := expr.Compile(tc.src, opts...)
		if err != nil {
			t.Fatal(err)
		}
		got, all := (&Expr{Source: tc.src, Program: prog}).Reads()
		slices.Sort(got)
		if all != tc.all || (!all && !slices.Equal(got, tc.want)) {
			t.Errorf("%s reads %v (all %v), want %v (all %v)", tc.src, got, all, tc.want, tc.all)
		}
	}
}

// TestExprReadsClock: now() anywhere in an expression makes its result
// change with no change to the row (kept groups are then not kept).
func TestExprReadsClock(t *testing.T) {
	declared := map[string]any{"n": int64(0), "s": "", "at": time.Time{}}
	for _, tc := range []struct {
		src  string
		want bool
	}{
		{`n > 2`, false},
		{`at > now()`, true},
		{`n > 2 && (now() - at).Hours() > 1`, true},
		{`s == "now"`, false},
		{`at > date("2026-01-01")`, false},
	} {
		opts := append([]expr.Option{expr.Env(declared)}, checkedIntegers()...)
		prog, err := expr.Compile(tc.src, opts...)
		if err != nil {
			t.Fatal(err)
		}
		if got := (&Expr{Source: tc.src, Program: prog}).ReadsClock(); got != tc.want {
			t.Errorf("%s reads the clock: %v, want %v", tc.src, got, tc.want)
		}
	}
	if (*Expr)(nil).ReadsClock() {
		t.Error("no expression reads the clock")
	}
}
