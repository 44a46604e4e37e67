package projtest

import (
	"context"
	"time"

	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
)

// testClock is what now() reads in a case that sets the clock: the case's
// now:, then each clock step's.
type testClock struct{ at time.Time }

func (c *testClock) now() time.Time { return c.at }

// caseClock is the clock of a case that sets one (now:, or a clock step
// in its given records; before the first step, a case without now: reads
// the wall clock's instant at its start), or nil: the wall clock.
func caseClock(c *Case) *testClock {
	steps := c.Now != nil
	for _, g := range c.Given {
		steps = steps || g.Now != nil
	}
	switch {
	case c.Now != nil:
		return &testClock{at: *c.Now}
	case steps:
		return &testClock{at: time.Now()}
	}
	return nil
}

// refreshAll refreshes every view that declares a refresh, as the daemon
// would once the clock moved past its interval.
func refreshAll(ctx context.Context, eng *projector.Engine, plan *projections.Plan) error {
	for _, v := range plan.Views {
		if v.Refresh > 0 {
			if _, err := eng.Refresh(ctx, v.Name, "", nil); err != nil {
				return err
			}
		}
	}
	return nil
}
