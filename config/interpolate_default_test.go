package config

import (
	"testing"
)

// TestInterpolationDefaultsOnlyWhenUsed: ${X:-default} takes the default only
// when X is unset or empty, so a reference inside the default is needed
// only then (as in the shell): ${PRIMARY:-${FALLBACK}} with PRIMARY set
// must not fail because FALLBACK is unset.
func TestInterpolationDefaultsOnlyWhenUsed(t *testing.T) {
	env := map[string]string{"PRIMARY": "postgres://db/x", "EMPTY": ""}
	lookup := func(n string) (string, bool) { v, ok := env[n]; return v, ok }
	for _, tc := range []struct {
		in, want string
		problems int
	}{
		{"${PRIMARY:-${FALLBACK}}", "postgres://db/x", 0},
		{"${EMPTY:-${FALLBACK}}", "", 1},
		{"${NOPE:-${PRIMARY}}", "postgres://db/x", 0},
		{"${PRIMARY:-${bad-name}}", "", 1},
	} {
		x := interpolate(tc.in, lookup)
		if x.value != tc.want || len(x.problems) != tc.problems {
			t.Errorf("interpolate(%q) = %q %v, want %q with %d problems", tc.in, x.value, x.problems, tc.want, tc.problems)
		}
	}
}
