package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/rebuild/registry"
)

// TestNoteAbortedPendingDrop: an aborted generation whose targets
// are not dropped yet (an --abort interrupted before its drop) goes at its
// DropAfter, like a failed one; the NOTE column must say when.
func TestNoteAbortedPendingDrop(t *testing.T) {
	drop := time.Date(2026, 11, 27, 9, 0, 0, 0, time.Local)
	g := registry.Generation{State: registry.Aborted, DropAfter: &drop, Targets: map[string]string{"postgres": `"public"."t__g2"`}}
	if got := note(g); !strings.Contains(got, "drop after 2026-11-27 09:00:00") {
		t.Errorf("note(aborted, not dropped) = %q, want the drop time", got)
	}
}
