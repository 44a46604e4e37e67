package projections

import (
	"testing"
	"time"

	"github.com/expr-lang/expr"
)

// TestR32dPinnedClockInATimeZone: now(tz) reads the clock as now() does
// (ReadsClock says so, and validate lets a view calling it refresh), so
// PinClock must pin it too, in that zone: a `projector test` case with
// now: otherwise reads the wall clock for it. nowCall replaces only now()
// without arguments.
func TestR32dPinnedClockInATimeZone(t *testing.T) {
	pin := time.Date(2024, 6, 1, 5, 0, 0, 0, time.UTC) // 07:00 in Paris
	env := map[string]any{"at": time.Time{}}
	for _, tc := range []struct {
		src  string
		want any
	}{
		{`now().Year()`, 2024},                         // pinned today
		{`now(timezone("Europe/Paris")).Year()`, 2024}, // the wall clock today
		{`now(timezone("Europe/Paris")).Hour()`, 7},    // the pinned instant, in Paris
		{`now(timezone("UTC")).Format("2006-01-02")`, "2024-06-01"},
	} {
		opts := append([]expr.Option{expr.Env(env)}, checkedIntegers()...)
		run, err := expr.Compile(tc.src, append(opts, runtimeChecks()...)...)
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		x := &Expr{Source: tc.src, Program: run}
		if !x.ReadsClock() {
			t.Errorf("%s: does not read the clock", tc.src)
		}
		e := map[string]any{"at": pin}
		PinClock(e, pin)
		got, err := x.Run(e)
		if err != nil || got != tc.want {
			t.Errorf("%s with the clock pinned at %s = %v (%v), want %v", tc.src, pin.Format(time.RFC3339), got, err, tc.want)
		}
	}
}
