package stack

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/projectorhq/projector/internal/rebuild/registry"
)

// Unwritten is what running instances leave a view's documents missing
// when a rebuild's swap records its definition: the swap computed every
// document, so it clears what starts recorded (stale.go), but not what an
// instance still running a file without the view, or without one of its
// sinks, goes on leaving stale after it. A start records that only once,
// before the swap; kept, every start and `projector validate` go on
// telling that the view needs a rebuild.
type Unwritten struct {
	// Undeclared: an instance's file does not declare the view.
	Undeclared bool
	// Sinks are the stores an instance does not write the view to.
	Sinks []string
}

// KeepUnwritten is rec, the definition a swap records, with u recorded
// beside it as stale.go's starts record what they leave stale.
func KeepUnwritten(rec registry.Definition, u Unwritten) (registry.Definition, error) {
	s := staleness{Undeclared: u.Undeclared, Sinks: u.Sinks}
	if s.empty() {
		return rec, nil
	}
	js, err := withStale(rec.JSON, s)
	if err != nil {
		return rec, fmt.Errorf("view %s: %w", rec.View, err)
	}
	rec.JSON = js
	return rec, nil
}

// StampStale records again what this start leaves stale (the views and
// sinks its file does not write, recorded by Wire). An instance calls it
// right after its first heartbeat: the start recorded it before the
// instance was known to be running, and a rebuild whose swap fell in
// between cleared it without seeing the instance. Recorded again under
// the lock of the definition's row, it is on the definition that swap
// recorded, or the instance is running at a later swap, which keeps it.
func (s *Stack) StampStale(ctx context.Context, reg *registry.Registry) error {
	for _, view := range slices.Sorted(maps.Keys(s.leftStale)) {
		if err := recordStale(ctx, reg, view, s.leftStale[view]); err != nil {
			return err
		}
	}
	return nil
}
