package projections_test

import (
	"errors"
	"testing"
	"time"

	"github.com/projectorhq/projector/projections"
)

// README: "an evaluation whose string +, replace, repeat and join would
// build more than 16 MB of text in all (counted before they build it)" is
// an error: expressions run while the state is locked, and TextBudget
// bounds each evaluation "to a few milliseconds of copying". toJSON() and
// string() of an array are not counted: one megabyte repeated (spent once)
// and put twenty times in an array (20 items, far within the million) is
// 20 MB of text built, 4 s per 100 MB here; with map(1..10000, q) the
// same 70-character expression builds 10 GB, and the daemon is killed for
// memory on the first row. Both should fail as the budgeted builtins do.
func TestR36DTextBudgetCountsToJSONAndString(t *testing.T) {
	for _, e := range []string{
		`let q = repeat("x", 1000000); len(toJSON(map(1..20, q)))`,
		`let q = repeat("x", 1000000); len(string(map(1..20, q)))`,
	} {
		v, err := r36dCompileExprErr("true", e, "bigint")
		if err != nil {
			t.Fatalf("%s does not validate: %v", e, err)
		}
		env := map[string]any{}
		projections.PinClock(env, time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC))
		got, err := v.Fields[1].Expr.Run(env)
		if !errors.Is(err, projections.ErrTextBudget) {
			t.Errorf("%s = %v, %v: built %v bytes of text, past the 16 MB budget; want ErrTextBudget", e, got, err, got)
		}
	}
}
