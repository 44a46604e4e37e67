package projtest

import "testing"

// TestR35jDateShiftOfUntypedOperandIsATimestamp: README: a date "plus or
// minus a duration ... is a timestamp, as date + interval is". The
// rewrite (projections/exprdateshift.go) only fires when the checker typed
// the operand time.Time; a date reaching + or - through an operand the
// checker cannot type (first(), `??` with a jsonb member, reduce's #acc)
// goes through the checked + / - (exprint.go add, fnSub), whose
// runtime.Add/Subtract keep the date's zone, so d + 24h is still written
// as the date "2024-01-03" while `d + duration('24h')` gives
// "2024-01-03T00:00:00Z": one value, two forms.
func TestR35jDateShiftOfUntypedOperandIsATimestamp(t *testing.T) {
	expectPass(t, head+`
sources:
  orders:
    topic: t.o
    key: id
    columns: { id: bigint, d: date, info: jsonb }
views:
  v:
    from: orders
    fields:
      id: id
      direct: { expr: "d + duration('24h')", type: jsonb }
      via_first: { expr: "first([d]) + duration('24h')", type: jsonb }
      via_coalesce: { expr: "(info.x ?? d) + duration('24h')", type: jsonb }
      via_reduce: { expr: "reduce([1], #acc - duration('24h'), d)", type: jsonb }
    sinks: { postgres: {} }
`, `
  - name: a date reached through an untyped operand
    given:
      - { source: orders, after: { id: 1, d: "2024-01-02", info: {} } }
    expect:
      v:
        "1":
          direct: "2024-01-03T00:00:00Z"
          via_first: "2024-01-03T00:00:00Z"
          via_coalesce: "2024-01-03T00:00:00Z"
          via_reduce: "2024-01-01T00:00:00Z"
`)
}
