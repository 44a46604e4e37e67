package cli

import (
	"runtime/debug"
	"testing"
)

// TestVersionOf: a build nobody stamped still says what it is, from what
// the Go toolchain recorded, before settling for "dev".
func TestVersionOf(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "6b92c32d0f1e2a3b4c5d6e7f8091a2b3c4d5e6f7"
	for _, tc := range []struct {
		name    string
		stamped string
		info    *debug.BuildInfo
		want    string
	}{
		{"stamped by make", "v1.2.3-4-gabc1234-dirty", &debug.BuildInfo{Main: debug.Module{Version: "v1.0.0"}}, "v1.2.3-4-gabc1234-dirty"},
		{"go install @version", "dev", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, "v1.2.3"},
		{"checkout with vcs stamping", "dev", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "false")}, "6b92c32d0f1e"},
		{"modified checkout", "dev", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "true")}, "6b92c32d0f1e-dirty"},
		{"-buildvcs=false", "dev", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
		{"no build info", "dev", nil, "dev"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := versionOf(tc.stamped, tc.info); got != tc.want {
				t.Errorf("versionOf(%q, …) = %q, want %q", tc.stamped, got, tc.want)
			}
		})
	}
}
