package cli

import (
	"strings"
	"testing"
)

// projector test prints, after a document's failures, the document the
// engine computed; with --print, before the failures, every case's
// documents as expect: and absent: sections to paste into a case. The
// exit status stays the cases' (1: one failed).
func TestTestPrintSession17(t *testing.T) {
	path := writeCases(t, `cases:
  - name: wrong status
    given:
      - { source: orders, after: { id: 1, user_id: u1, status: paid, total_amount: "10.00" } }
      - { source: orders, after: { id: 2, user_id: u1, status: paid, total_amount: "1.00" } }
      - { source: orders, op: d, before: { id: 2 } }
    expect:
      order_view: { "1": { status: shipped } }
`)
	docs := `    expect:
      order_view:
        "1":
          created_at: null
          customer: null
          id: 1
          item_count: 0
          items: []
          status: paid
          total_amount: "10.00"
      user_order_stats:
        u1:
          order_count: 1
          total_spent: 10.00
          user_id: u1
    absent:
      order_view: ["2"]
`
	failure := path + `:9: case "wrong status": view order_view doc 1: field status = "paid", want "shipped"
    actual order_view doc 1:
      "1":
        created_at: null
        customer: null
        id: 1
        item_count: 0
        items: []
        status: paid
        total_amount: "10.00"
0 passed, 1 failed
`
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"failures", []string{"test", path}, failure},
		{"--print", []string{"test", "--print", path}, path + `:3: case "wrong status": documents:` + "\n" + docs + failure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runMain(t, tc.args...)
			if code != ExitFailure || out != tc.want {
				t.Errorf("exit %d, want %d; stdout:\n%s\nwant:\n%s\nstderr: %s", code, ExitFailure, out, tc.want, errOut)
			}
			if strings.Contains(errOut, "projector:") {
				t.Errorf("stderr: %s", errOut)
			}
		})
	}
}
