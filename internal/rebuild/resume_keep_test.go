package rebuild_test

import (
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/cli"
	"github.com/projectorhq/projector/internal/rebuild"
)

// TestResumeReportsRecordedKeep: a rebuild started with --keep 24h
// and interrupted during the verification keeps that value on --resume
// (Options.Keep: "a resumed rebuild keeps the value of the run that
// started it"). What --resume prints about the replaced generation must
// say so, as `generations` does, not the configuration's default.
func TestResumeReportsRecordedKeep(t *testing.T) {
	f := rebuild.NewFixture(t)
	f.StartDaemon(1, 50)
	file := f.ConfigFile(t)
	f.InterruptAt(t, "verify", 24*time.Hour)

	code, out, errs := projector(t, "rebuild", "--resume", "item_view", "-c", file)
	t.Logf("resume:\n%s%s", out, errs)
	if code != cli.ExitOK {
		t.Fatalf("resume: exit %d", code)
	}
	if !strings.Contains(out, "postgres generation 1 retired; dropped after 24h0m0s") {
		t.Errorf("resume output does not say the replaced table is kept 24h, as recorded")
	}
}
