package projector_test

import (
	"testing"
	"time"
)

// TestR35gRefreshCountsAnAbsentDocsErrors: README: "At run time an error
// gives null and counts in projector_expression_errors_total". A refresh
// evaluates the where of a document whose absence it wrote before to tell
// whether it is absent still (keepArrivals); since 4987dc2 that peek counts
// nothing, on the ground that "the write computes the same", but a document
// still absent is not written: its failing where is evaluated at every
// refresh and never counted again (before 4987dc2 once per refresh).
func TestR35gRefreshCountsAnAbsentDocsErrors(t *testing.T) {
	r := newClockRig(t, `  live:
    from: posts
    where: publish_at <= now() and int(title) > 0
    refresh: 1s
    fields: { id: id, title: title }
    sinks: { postgres: {} }
`)
	r.post(t, "not a number", -time.Hour)
	// The first refresh writes the post's absence; the next ones check it
	// is absent still, evaluating int(title) each time.
	r.refresh(t, "live", 0)
	if _, errs := r.refresh(t, "live", time.Hour); errs != 1 {
		t.Errorf("projector_expression_errors_total grew by %v at the refresh, want 1 (the where's int(title) failed once)", errs)
	}
}
