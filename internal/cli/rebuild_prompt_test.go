package cli

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

// TestConfirmRefusesDevNull: /dev/null, the stdin of cron and Kubernetes
// Jobs, is a character device but no terminal. A rebuild there must not
// prompt (it would read end-of-file and exit 1 "cancelled") but refuse
// with exit 2, asking for --yes, as it does on a pipe.
func TestConfirmRefusesDevNull(t *testing.T) {
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	var prompt bytes.Buffer
	err = confirm(null, &prompt, "Rebuild order_view?")
	var exit *exitError
	if !errors.As(err, &exit) || exit.code != ExitUsage || !strings.Contains(err.Error(), "--yes") {
		t.Errorf("confirm on %s: %v, want exit %d asking for --yes", os.DevNull, err, ExitUsage)
	}
	if prompt.Len() > 0 {
		t.Errorf("prompted on %s: %q", os.DevNull, prompt.String())
	}
}

// TestRebuildHelpKeepDefault: --keep's default is rebuild.keep of the
// configuration, not a fixed hour; the help must not claim "1h0m0s".
func TestRebuildHelpKeepDefault(t *testing.T) {
	code, out, errs := run(t, "rebuild", "--help")
	if code != ExitOK {
		t.Fatalf("rebuild --help: exit %d\n%s", code, errs)
	}
	var keep string
	for line := range strings.Lines(out) {
		if strings.Contains(line, "--keep") {
			keep = line
		}
	}
	if strings.Contains(keep, "1h0m0s") || !strings.Contains(keep, "default: rebuild.keep from the configuration") {
		t.Errorf("--keep help = %q, want its default to be rebuild.keep from the configuration", keep)
	}
}
