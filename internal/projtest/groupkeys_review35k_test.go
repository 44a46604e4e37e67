package projtest

import "testing"

// R35k: since 1353f53, groupBy keys a decimal no float holds exactly
// (12345678901234567.01 of a numeric(20,2)) by a json.Number
// (projections/exprdecimalops.go decimalKey). A json.Number is a Go
// string type that neither expr-lang nor the decimal operators read as a
// number, so such a key, once out of the map (keys, toPairs), is no
// number to expressions: `+`, `>`, sum and sortBy over it are runtime
// errors (the field null), and type() names a Go type. The README: a
// numeric computes exactly; groupBy groups by the number.
const r35kGroupKeysCfg = head + `
sources:
  orders:
    topic: t.o
    key: id
    columns: { id: bigint, n: "numeric(20,2)[]", info: jsonb }
views:
  v:
    from: orders
    fields:
      id: id
      plus: { expr: "map(keys(groupBy(n, #)), # + 1)", type: jsonb }
      positive: { expr: "all(keys(groupBy(n, #)), # > 0)", type: boolean }
      total: { expr: "sum(keys(groupBy(n, #)))", type: "numeric(20,2)" }
      sorted: { expr: "sortBy(keys(groupBy(n, #)), #)", type: jsonb }
      pair_sum: { expr: "sum(toPairs(groupBy(n, #)), #[0])", type: "numeric(20,2)" }
      types: { expr: "map(keys(groupBy(n, #)), type(#))", type: jsonb }
      of_jsonb: { expr: "sum(keys(groupBy(info.n, #)))", type: "numeric(20,2)" }
    sinks: { postgres: {} }
`

const r35kGroupKeysCases = `
  - name: a decimal key no float holds
    given:
      - { source: orders, after: { id: 1, n: ["12345678901234567.01", "0.50"], info: { n: [12345678901234567.01, 0.5] } } }
    expect:
      v:
        "1":
          plus: [1.5, 12345678901234568.01]
          positive: true
          total: 12345678901234567.51
          sorted: [0.5, 12345678901234567.01]
          pair_sum: 12345678901234567.51
          types: [float, float]
          of_jsonb: 12345678901234567.51
`

func TestR35kGroupByDecimalKeysAreNumbers(t *testing.T) {
	expectPass(t, r35kGroupKeysCfg, r35kGroupKeysCases)
}

// R35k: a json.Number groupBy key as a field's whole value passes
// projector/exprresult.go exprResult unchecked (its final `return v, true`):
// a field typed integer, numeric(5,2) or boolean takes 12345678901234567.01
// (PostgreSQL then refuses the row: invalid input for type integer),
// where the README has a result the field's type cannot hold be null
// (counted as an error); a double precision field writes digits no double
// holds, where the same value read from the column (n[0]) gives the float.
func TestR35kGroupByDecimalKeyFieldTypeChecked(t *testing.T) {
	expectPass(t, head+`
sources:
  orders:
    topic: t.o
    key: id
    columns: { id: bigint, n: "numeric(20,2)[]" }
views:
  v:
    from: orders
    fields:
      id: id
      as_int: { expr: "keys(groupBy(n, #))[0]", type: integer }
      as_small_numeric: { expr: "keys(groupBy(n, #))[0]", type: "numeric(5,2)" }
      as_bool: { expr: "keys(groupBy(n, #))[0]", type: boolean }
      as_double: { expr: "keys(groupBy(n, #))[0]", type: "double precision" }
      plain_double: { expr: "n[0]", type: "double precision" }
    sinks: { postgres: {} }
`, `
  - name: a decimal key into typed fields
    given:
      - { source: orders, after: { id: 1, n: ["12345678901234567.01"] } }
    expect:
      v:
        "1":
          as_int: null
          as_small_numeric: null
          as_bool: null
          as_double: 12345678901234568
          plain_double: 12345678901234568
`)
}
