package projections

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr"
)

// textSize is never less than what toJSON (json.MarshalIndent, two spaces)
// or string (%v) writes, and not much more.
func TestTextSizeBoundsToJSONAndString(t *testing.T) {
	ints := make([]any, 1000)
	for i := range ints {
		ints[i] = i * 7919
	}
	values := []any{
		nil, true, int64(-12345), math.MaxFloat64, 1e20, 1.5e-7, -0.1, json.Number("12.50"),
		"plain", "quote \" backslash \\ tab \t newline \n nul \x00 <b>&amp;", "é \u2028 \xff",
		time.Date(2024, 6, 1, 10, 0, 0, 123, time.FixedZone("CEST", 7200)),
		[]any{}, map[string]any{}, []string{"a", "b"}, []int{1, 22, 333},
		ints,
		[]any{"a", []any{"b", []any{"c", map[string]any{"d": []any{1.5, nil, false}}}}},
		map[string]any{"k": map[string]any{"nested \"key\"": []any{"x", "y"}}, "z": int64(1)},
		map[any][]any{"g": {1, 2}, int64(3): {"x"}},
	}
	for _, v := range values {
		n, ok := textSize(v, TextBudget)
		if !ok {
			t.Errorf("%#v: over the budget", v)
			continue
		}
		written := len(fmt.Sprintf("%v", v))
		if b, err := json.MarshalIndent(v, "", "  "); err == nil {
			written = max(written, len(b))
		}
		if n < written || n > 2*written+64 {
			t.Errorf("%#v: textSize %d, but %d written", v, n, written)
		}
	}
}

// The measuring stops once past its limit: 100,000 times the same
// megabyte is not read 100,000 times.
func TestTextSizeStopsAtItsLimit(t *testing.T) {
	mb := strings.Repeat("x", 1<<20)
	many := make([]any, 100_000)
	for i := range many {
		many[i] = mb
	}
	if n, ok := textSize(many, TextBudget); ok || n > TextBudget+2<<20 {
		t.Errorf("textSize = %d, %v; want over the budget, measured no further than it", n, ok)
	}
}

// toJSON() and string() of an array or an object count what they write
// against the evaluation's text budget before they write it; string() of
// text is the text itself, and costs nothing.
func TestToJSONAndStringSpendTheTextBudget(t *testing.T) {
	declared := map[string]any{"s": "", "n": int64(0)}
	for _, tc := range []struct {
		src     string
		s       string
		n       int64
		overRun bool
		builds  bool // text within the budget before the call that is over it
	}{
		{`len(toJSON(map(1..n, s)))`, strings.Repeat("x", 1<<20), 20, true, false},
		{`len(string(map(1..n, s)))`, strings.Repeat("x", 1<<20), 20, true, false},
		{`len(toJSON({"a": map(1..n, [s, {"b": s}])}))`, strings.Repeat("x", 1<<20), 10, true, false},
		{`len(toJSON(map(1..n, s))) + len(toJSON(map(1..n, s)))`, strings.Repeat("x", 1<<20), 10, true, true},
		{`len(toJSON(map(1..n, s)))`, strings.Repeat("x", 1000), 1000, false, true},
		{`len(string(map(1..n, #)))`, "", 400_000, false, true},
		{`len(string(s)) + len(string(s)) + len(string(s))`, strings.Repeat("x", 6<<20), 0, false, true},
	} {
		opts := append(append([]expr.Option{expr.Env(declared)}, checkedIntegers()...), runtimeChecks()...)
		prog, err := expr.Compile(tc.src, opts...)
		if err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		got, err := (&Expr{Source: tc.src, Program: prog}).Run(map[string]any{"s": tc.s, "n": tc.n})
		runtime.ReadMemStats(&after)
		switch {
		case tc.overRun && !errors.Is(err, ErrTextBudget):
			t.Errorf("%s, n = %d: %v, %v; want ErrTextBudget", tc.src, tc.n, got, err)
		case tc.overRun && !tc.builds && after.TotalAlloc-before.TotalAlloc > TextBudget:
			t.Errorf("%s, n = %d: allocated %d MB before failing", tc.src, tc.n, (after.TotalAlloc-before.TotalAlloc)>>20)
		case !tc.overRun && err != nil:
			t.Errorf("%s, n = %d: %v; want it within the budget", tc.src, tc.n, err)
		}
	}
}
