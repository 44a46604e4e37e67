package projections_test

import (
	"strings"
	"testing"
)

// Whole, a jsonb is refused where the field's type is another (it would
// fail for every document), and the message says how to take a value out;
// what is taken out of it, or it whole into a jsonb, validates.
func TestJSONBWholeIntoAnotherTypeRefused(t *testing.T) {
	err := compileViews(t, `
  v:
    from: users
    fields:
      id: _id
      n: { expr: "info", type: bigint }
      kept: { expr: "info", type: jsonb }
      first: { expr: "info[0]", type: bigint }
      member: { expr: "info.a.b", type: text }
    sinks: { postgres: {} }
`)
	want := `t.yaml:22:18: v.n: expression "info" gives a whole jsonb, which does not fit type bigint (take a value out of it: info.name, info[0])`
	if err == nil || strings.TrimSpace(err.Error()) != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}
