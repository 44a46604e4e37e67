package rebuild

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestR32dRebuildOfAViewThatReadsTheClock: a view whose expressions call
// now() — what refresh: is for (an age, a 30-day window, here the instant
// the document was computed) — gives other documents at every compute.
// The verification recomputes each document at the revision the fill
// wrote (ComputeDocs, peek) and requires the same content; for such a
// view it never settles (nothing writes the document again before the
// next refresh, an interval later), so the swap is refused after
// VerifyTimeout and the view can never be rebuilt. Want the rebuild to
// swap: the fields and where that read the clock compared as of the
// instant the fill computed them, or left to the refresh.
func TestR32dRebuildOfAViewThatReadsTheClock(t *testing.T) {
	yaml := strings.Replace(itemsYAML, "fields: { id: id, name: name, qty: qty }",
		`refresh: 1h
    fields: { id: id, name: name, qty: qty, computed_at: { expr: "now()", type: timestamptz } }`, 1)
	f := newFixtureYAML(t, yaml, "", "")
	d := f.startDaemon()
	f.seed(d, 1, 20)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := Run(ctx, f.openEnv(), Options{View: "item_view", Keep: 0, VerifyTimeout: 3 * time.Second}); err != nil {
		t.Fatalf("the rebuild of a view reading the clock did not swap: %v", err)
	}
}
