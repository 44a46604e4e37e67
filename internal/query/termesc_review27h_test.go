package query_test

import (
	"net/http"
	"strings"
	"testing"
)

// r27hControls are what a terminal acts on: ESC (starting CSI and OSC
// sequences: colours, clearing the screen, setting the window title,
// OSC 52 writing the clipboard), BEL, and the 8-bit CSI U+009B.
var r27hControls = []string{"\x1b", "\x07", "\u009b"}

func r27hRaw(s string) []string {
	var found []string
	for _, c := range r27hControls {
		if strings.Contains(s, c) {
			found = append(found, strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(c, "\x1b", `\x1b`), "\x07", `\x07`), "\u009b", `\u009b`))
		}
	}
	return found
}

// TestR27hTableEscapesSourceControls: `projector query -o table` prints
// values from the source databases, which whoever writes a row (a shop's
// customer writing an order note) controls. The table replaces tab, CR
// and LF (cell in internal/cli/query.go) but passes every other control
// character to the terminal raw, so a note holding "\x1b]0;…\x07" retitles
// the operator's terminal, "\x1b[2J" clears it, "\x1b]52;c;…\x07" writes
// the clipboard, and "\x1b[8m" hides the rows after it. A facet's value is
// printed to stderr the same way (printFacets). JSON output escapes them
// (\u001b); the table, meant for a terminal, must not print them raw.
func TestR27hTableEscapesSourceControls(t *testing.T) {
	s := newShop(t, shopOptions{})
	hostile := "ok\x1b]0;pwned\x07\x1b[2J\x1b[8m\u009b31m"
	s.user("u1", "Ada"+hostile, "ada@example.com")
	s.order(1, row{"user_id": "u1", "status": "paid" + hostile, "total": "10.00", "note": "a gift " + hostile})
	s.caughtUp()
	res, err := http.Post(s.es.URL()+"/orders/_refresh", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()

	for _, args := range [][]string{
		{"query", "orders", "1", "-o", "table"},
		{"query", "orders", "-o", "table"},
		{"query", "orders", "--search", "gift", "--facets", "status", "-o", "table"},
	} {
		code, out, errOut := projectorCLI(t, s, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, out, errOut)
		}
		if !strings.Contains(out, "gift") {
			t.Errorf("%v: the doc is not in the table:\n%q", args, out)
		}
		if raw := r27hRaw(out); len(raw) > 0 {
			t.Errorf("%v: stdout passes %v from a source value to the terminal raw:\n%q", args, raw, out)
		}
		if raw := r27hRaw(errOut); len(raw) > 0 {
			t.Errorf("%v: stderr passes %v from a source value to the terminal raw:\n%q", args, raw, errOut)
		}
	}
}
