package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/rebuild/registry"
)

// TestGenerationNote: the NOTE column says why a generation is where it is.
func TestGenerationNote(t *testing.T) {
	drop := time.Date(2026, 11, 27, 9, 0, 0, 0, time.Local)
	for _, c := range []struct {
		gen  registry.Generation
		want string
	}{
		{registry.Generation{State: registry.Building, Signal: []byte(`{"id":"projector-v-g2-ab","sent_at":"2026-11-27T05:00:00Z"}`)},
			"incremental snapshot projector-v-g2-ab requested"},
		{registry.Generation{State: registry.Active, Signal: []byte(`{"id":"projector-v-g2-ab"}`)}, ""},
		{registry.Generation{State: registry.Failed, Error: "2 documents differ"}, "2 documents differ"},
		{registry.Generation{State: registry.Retired, DropAfter: &drop}, "drop after 2026-11-27 09:00:00"},
		{registry.Generation{State: registry.Retired, Targets: map[string]string{"postgres": "t"}, Dropped: []string{"postgres"}}, "dropped postgres"},
	} {
		got := note(c.gen)
		if c.want == "" && got != "" || !strings.Contains(got, c.want) {
			t.Errorf("note(%s) = %q, want %q", c.gen.State, got, c.want)
		}
	}
}
