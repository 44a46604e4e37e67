package cli

import (
	"strings"
	"testing"
)

// TestReview31aPrintStartsACase: README and `projector test --help` say
// --print prints every case's documents "to start a case from". A case
// being started has its given records and no expectation yet, which is
// what the user runs --print to get; today such a case makes the file
// malformed ("expects nothing", exit 2) and nothing is printed, so a user
// must first write a dummy expectation.
func TestReview31aPrintStartsACase(t *testing.T) {
	path := writeCases(t, `cases:
  - name: new case
    given:
      - { source: orders, after: { id: 1, user_id: u1, status: paid, total_amount: "10.00" } }
`)
	code, out, errOut := runMain(t, "test", "--print", path)
	if code == ExitUsage || !strings.Contains(out, `case "new case": documents:`) || !strings.Contains(out, "status: paid") {
		t.Errorf("exit %d; stdout:\n%s\nstderr:\n%s\nwant the case's documents printed", code, out, errOut)
	}
}
