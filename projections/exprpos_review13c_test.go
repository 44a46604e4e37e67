package projections_test

import (
	"strings"
	"testing"
)

// TextPos promises the place of an error inside an expression "however the
// expression is written", escapes included. $$ is the documented literal $
// ("'$$' + region" in the shop's full example), but sourcePos walks the
// decoded text ('$x') against the file ('$$x') and loses the match: the
// fallback then ignores the dropped $, and the error is one column early.
// `    where: status != '$$x' && bogus > 1` has bogus at column 31 (30 with
// a single $, which is reported right).
func TestR13cDollarDollarShiftsExpressionErrorColumn(t *testing.T) {
	for _, tc := range []struct{ name, where, want string }{
		{"plain", `status != '$$x' && bogus > 1`, "t.yaml:20:31:"},
		{"double-quoted", `"status != '$$x' && bogus > 1"`, "t.yaml:20:32:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := compileViews(t, `
  v:
    from: orders
    where: `+tc.where+`
    fields: { id: id }
    sinks: { postgres: {} }
`)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %v\nwant it at %s (bogus)", err, tc.want)
			}
		})
	}
}
