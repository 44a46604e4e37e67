package testenv

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestR29jMakeStopsWhenServicesFail: README, Two commands: "make test #
// services up, then go test -race ./..." and "make demo" on private servers
// the script starts. The Makefile runs `source <(scripts/services.sh up) &&
// ...`: the status of a process substitution is lost, and `source` of its
// (empty) output succeeds, so when services.sh up fails (apt missing, a
// port taken, a server that does not start) make goes on: `make test` runs
// the suite without the servers and `make demo` runs the demo against
// whatever PROJECTOR_POSTGRES_URL / PROJECTOR_REDIS_URL the shell happens to
// export (the demo drops projector_demo there) — and a failed `up` can
// end in exit 0.
//
// Here the services command is `false` and the commands after it `true`:
// make should fail, as `up` did.
func TestR29jMakeStopsWhenServicesFail(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"test", "demo"} {
		t.Run(target, func(t *testing.T) {
			cmd := exec.Command("make", "-C", root, target, "SERVICES=false", "GO=true", "BIN=true")
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Errorf("make %s with a services.sh up that fails: exit 0, want make to stop with an error\n%s", target, out)
			}
		})
	}
}
