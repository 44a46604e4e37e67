package projtest

import (
	"strings"
	"testing"
)

// A numeric without a declared scale keeps the scale each value came with
// (PostgreSQL's 2.0 stays "2.0"), and joins compare text, so 2, 2.0 and
// 2.00 would silently not join: such a join is refused, at its `on:`, on
// either side and with integers, floats or another such numeric.
func TestJoinOnNumericWithoutScale(t *testing.T) {
	msg := malformed(t, head+`
sources:
  orders:
    topic: t.o
    key: id
    columns: { id: bigint, nn: numeric }
  items:
    topic: t.i
    key: id
    columns: { id: bigint, q: integer, nn: numeric, f: real }
views:
  v:
    from: orders
    fields:
      id: id
      by_q: { many: items, on: { q: nn }, fields: { id: id } }
      by_nn: { many: items, on: { nn: nn }, fields: { id: id } }
      by_f: { many: items, on: { f: nn }, fields: { id: id } }
    sinks: { postgres: {} }
`, "config: projector.yaml\ncases:\n  - { name: any, given: [], absent: { v: [\"1\"] } }\n")
	for _, want := range []string{
		"projector.yaml:19:34: v.by_q: join type mismatch: items.q is integer but orders.nn is numeric; declare the column numeric(p,s)",
		"projector.yaml:20:35: v.by_nn: join type mismatch: items.nn is numeric but orders.nn is numeric",
		"projector.yaml:21:34: v.by_f: join type mismatch: items.f is real but orders.nn is numeric",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error:\n%s\nwant %s", msg, want)
		}
	}
}

// With a declared scale every value is written with it, whatever it came
// as, so integers join numeric(p) and numerics of the same scale join.
func TestJoinOnNumericWithDeclaredScale(t *testing.T) {
	expectPass(t, head+`
sources:
  orders:
    topic: t.o
    key: id
    columns: { id: bigint, n0: "numeric(10)", n2: "numeric(10,2)" }
  items:
    topic: t.i
    key: id
    columns: { id: bigint, q: integer, n2: "numeric(12,2)" }
views:
  v:
    from: orders
    fields:
      id: id
      by_q: { many: items, on: { q: n0 }, fields: { id: id } }
      by_n2: { many: items, on: { n2: n2 }, fields: { id: id } }
    sinks: { postgres: {} }
`, `
  - name: equal values join
    given:
      - { source: orders, after: { id: 1, n0: "2.0", n2: "2.5" } }
      - { source: items, after: { id: 10, q: 2, n2: "2.50" } }
      - { source: items, after: { id: 11, q: 3, n2: 2.5 } }
    expect:
      v:
        "1": { by_q: [ { id: 10 } ], by_n2: [ { id: 10 }, { id: 11 } ] }
`)
}
