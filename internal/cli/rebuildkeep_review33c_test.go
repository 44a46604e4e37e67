package cli

import (
	"strings"
	"testing"
)

// TestR33cRebuildKeepHelpClaimsNoFixedDefault: `projector rebuild --help`
// prints, for --keep:
//
//	--keep duration   … 0s drops it at once (default: rebuild.keep from the configuration) (default 0s)
//
// The flag has no default of its own (rebuild.go says so: "No default of
// the flag's own: unset, the configuration's rebuild.keep applies, and
// cobra would print a fixed …"), but pflag prints "(default 0s)" for a
// custom Value whose zero text is "0s" (it only knows its own
// durationValue's zero). An operator reading the help learns that the
// default is 0s, which the same line says "drops it at once": the
// opposite of README's "The replaced generation is dropped after
// rebuild.keep (default `1h`; `--keep` overrides …)". Fix: make the flag's
// DefValue empty (or its Type "duration" with a DefValue pflag takes as
// zero) so that only the configuration's default is named.
func TestR33cRebuildKeepHelpClaimsNoFixedDefault(t *testing.T) {
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
	if keep == "" {
		t.Fatalf("no --keep in rebuild --help:\n%s", out)
	}
	if strings.Contains(keep, "(default 0s)") {
		t.Errorf("--keep help = %q: it claims a default of 0s (drop at once), where the default is rebuild.keep (1h)", strings.TrimSpace(keep))
	}
}
