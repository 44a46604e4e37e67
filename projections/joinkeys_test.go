package projections_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestNumberJoins: joins compare values as text, so two number columns
// join only where equal values are written alike (5 and 5.00 are not). A
// numeric without a declared scale keeps the scale each value came with
// (2, 2.0, 2.00), so it joins nothing, not even another such numeric.
func TestNumberJoins(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		ok   bool
	}{
		{"bigint", "integer", true},
		{"bigint", "double precision", true},
		{"bigint", "numeric", false},
		{"numeric", "numeric", false},
		{"numeric", "double precision", false},
		{"bigint", "numeric(10)", true},
		{"bigint", "numeric(10,0)", true},
		{"bigint", "numeric(10,2)", false},
		{"numeric(10,2)", "numeric(12,2)", true},
		{"numeric(10,2)", "numeric(10,3)", false},
		{"numeric(10,2)", "numeric", false},
		{"numeric(10,2)", "double precision", false},
		{"real", "double precision", true},
		{"numeric(10)", "real", true},
		{"bigint", "text", false},
	} {
		t.Run(tc.a+"="+tc.b, func(t *testing.T) {
			yaml := fmt.Sprintf(`version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "${PROJECTOR_POSTGRES_URL}" } }
sources:
  o: { topic: o, key: id, columns: { id: bigint, code: %q } }
  p: { topic: p, key: id, columns: { id: bigint, code: %q, name: text } }
views:
  v:
    from: o
    fields: { id: id, p: { one: p, on: { code: code }, column: name } }
    sinks: { postgres: {} }
`, tc.a, tc.b)
			_, err := compile(t, yaml)
			switch {
			case tc.ok && err != nil:
				t.Errorf("refused: %v", err)
			case !tc.ok && (err == nil || !strings.Contains(err.Error(), "join type mismatch")):
				t.Errorf("error %v; want a join type mismatch", err)
			}
		})
	}
}

// TestIDNeedsSourceKey: a document is found by its root row's key, so a
// view naming its id over a source without `key:` is refused, at the id.
func TestIDNeedsSourceKey(t *testing.T) {
	_, err := compile(t, `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "${PROJECTOR_POSTGRES_URL}" } }
sources:
  lines: { topic: l, columns: { order_id: bigint, line_no: bigint, note: text } }
views:
  v:
    from: lines
    id: [order_id, line_no]
    fields: { order_id: order_id, line_no: line_no, note: note }
    sinks: { postgres: {} }
`)
	if want := "t.yaml:9:9: view \"v\": id needs `key:` on source \"lines\""; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v; want %s", err, want)
	}
}
