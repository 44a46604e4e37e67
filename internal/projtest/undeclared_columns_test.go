package projtest

import "testing"

const undeclaredCfg = head + `
sources:
  orders:
    topic: t.o
    key: id
views:
  v:
    from: orders
    where: amount > 10 && address.floor < 3
    fields:
      id: id
      amount: amount
      half: { expr: "amount / 2", type: numeric }
    sinks: { postgres: {} }
`

// A source without declared columns keeps numbers as JSON numbers; an
// expression still computes with them (and with numbers inside objects),
// so a numeric where keeps the rows it holds for.
func TestExpressionsOverUndeclaredNumbers(t *testing.T) {
	expectPass(t, undeclaredCfg, `
  - name: undeclared columns
    given:
      - { source: orders, after: { id: 1, amount: 20, address: { floor: 2 } } }
      - { source: orders, after: { id: 2, amount: 5.5, address: { floor: 2 } } }
      - { source: orders, after: { id: 3, amount: 20.5, address: { floor: 7 } } }
    expect:
      v:
        "1": { amount: 20, half: 10 }
    absent:
      v: ["2", "3"]
`)
}
