package projections

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/expr-lang/expr"
)

// runBounded evaluates src over env as a view's expression is.
func runBounded(t *testing.T, src string, env map[string]any) (any, error) {
	t.Helper()
	declared := map[string]any{}
	for k, v := range env {
		declared[k] = v
	}
	opts := append(append([]expr.Option{expr.Env(declared)}, checkedIntegers()...), runtimeChecks()...)
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		t.Fatalf("compile %s: %v", src, err)
	}
	return (&Expr{Source: src, Program: prog}).Run(env)
}

// TestBoundedBuiltins: split, splitAfter, trim and uniq give what expr's
// own builtins give, within expr's memory budget.
func TestBoundedBuiltins(t *testing.T) {
	long := strings.Repeat("é", 100) // a cutset Go's Trim scans per rune
	for _, c := range []struct {
		src  string
		env  map[string]any
		want any
	}{
		{`split(s, ",")`, map[string]any{"s": "a,b,,c"}, []string{"a", "b", "", "c"}},
		{`split(s, ",", 2)`, map[string]any{"s": "a,b,c"}, []string{"a", "b,c"}},
		{`split(s, "")`, map[string]any{"s": "aé"}, []string{"a", "é"}},
		{`split(s, ",")`, map[string]any{"s": ""}, []string{""}},
		{`splitAfter(s, ",")`, map[string]any{"s": "a,b"}, []string{"a,", "b"}},
		{`trim(s, c)`, map[string]any{"s": "éxéaé", "c": long}, "xéa"},
		{`trim(s, c)`, map[string]any{"s": "..x..", "c": "."}, "x"},
		{`trim(s)`, map[string]any{"s": " x "}, "x"},
		{`uniq(a)`, map[string]any{"a": []any{1, 1.0, "a", "a", nil, nil, true, false, true, 2.5, 2.5}},
			[]any{1, "a", nil, true, false, 2.5}},
		{`uniq(a)`, map[string]any{"a": []any{[]any{1}, []any{1.0}, map[string]any{"x": 1}, map[string]any{"x": 1}}},
			[]any{[]any{1}, map[string]any{"x": 1}}},
		{`len(uniq(1..200000))`, map[string]any{}, 200000},
	} {
		got, err := runBounded(t, c.src, c.env)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s over %v = %#v, %v; want %#v", c.src, c.env, got, err, c.want)
		}
	}
}

// TestSplitItemBudget: a split past a million parts is the memory budget's
// error, as any other array that large, before its parts are made.
func TestSplitItemBudget(t *testing.T) {
	s := strings.Repeat(",", 1_000_001)
	for _, src := range []string{`split(s, ",")`, `splitAfter(s, ",")`, `split(s, "")`} {
		got, err := runBounded(t, src, map[string]any{"s": s})
		if !errors.Is(err, errItems) && (err == nil || !strings.Contains(err.Error(), "memory budget exceeded")) {
			t.Errorf("%s of a million and one commas = %d items, %v; want the memory budget's error", src, reflect.ValueOf(got).Len(), err)
		}
	}
	if got, err := runBounded(t, `len(split(s, ",", 3))`, map[string]any{"s": s}); err != nil || got != 3 {
		t.Errorf("split with a count of 3 = %v, %v", got, err)
	}
}

// TestUniqOfObjectsCompares: uniq compares an object or array only with
// the kept ones that share its coarse key, not with every one kept: 5,000
// distinct objects take no comparison, 5,000 copies of one object one
// each, and objects equal only by == (1 and 1.0 inside) are kept apart
// or together as == says.
func TestUniqOfObjectsCompares(t *testing.T) {
	var compares int
	defer func(eq func(a, b any) bool) { uniqEqual = eq }(uniqEqual)
	inner := uniqEqual
	uniqEqual = func(a, b any) bool { compares++; return inner(a, b) }
	var distinct, same []any
	for i := range 5000 {
		distinct = append(distinct, map[string]any{"id": i, "tags": []any{"a", i}})
		same = append(same, map[string]any{"id": 1, "tags": []any{"a"}})
	}
	got, err := runBounded(t, `len(uniq(a))`, map[string]any{"a": distinct})
	if err != nil || got != 5000 || compares != 0 {
		t.Errorf("uniq of 5,000 distinct objects = %v, %v after %d comparisons; want 5000 after none", got, err, compares)
	}
	compares = 0
	got, err = runBounded(t, `len(uniq(a))`, map[string]any{"a": same})
	if err != nil || got != 1 || compares != 4999 {
		t.Errorf("uniq of 5,000 equal objects = %v, %v after %d comparisons; want 1 after 4999", got, err, compares)
	}
	got, err = runBounded(t, `uniq(a)`, map[string]any{"a": []any{[]any{1, 2}, []any{1.0, 2.0}, []any{2, 1}}})
	if err != nil || !reflect.DeepEqual(got, []any{[]any{1, 2}, []any{2, 1}}) {
		t.Errorf("uniq of arrays equal by == = %#v, %v", got, err)
	}
}
