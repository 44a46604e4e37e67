package cli

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is stamped at build time: `make build` and the Dockerfile pass
// -ldflags "-X github.com/projectorhq/projector/internal/cli.Version=…"
// with `git describe --tags --always --dirty`. Left at "dev", version()
// asks the Go toolchain instead.
var Version = "dev"

// unstamped is Version when no build stamped it.
const unstamped = "dev"

// version is what this build calls itself: the stamped Version, else what
// the toolchain recorded (see versionOf).
func version() string {
	info, _ := debug.ReadBuildInfo()
	return versionOf(Version, info)
}

// versionOf picks a build's version: the stamped one; else the main
// module's version, which `go install …@v1.2.3` records (a checkout
// records "(devel)", or since Go 1.24 a pseudo-version from its VCS);
// else the VCS revision `go build` records in a checkout, "-dirty" when
// it had changes; else "dev".
func versionOf(stamped string, info *debug.BuildInfo) string {
	if stamped != "" && stamped != unstamped {
		return stamped
	}
	if info == nil {
		return unstamped
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	var dirty bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return unstamped
	}
	rev = rev[:min(len(rev), 12)]
	if dirty {
		rev += "-dirty"
	}
	return rev
}

func newVersion(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(g.stdout, "projector", version())
			return nil
		},
	}
}
