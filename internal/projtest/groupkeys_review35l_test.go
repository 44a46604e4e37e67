package projtest

import "testing"

// R35l: since d9ea278, groupsOf (projections/exprdecimalops.go) keys the
// group of a decimal no float holds by a decimal.Decimal, a struct holding
// a *big.Int: Go's map equality (expr-lang's == of two maps is
// reflect.DeepEqual, which looks each key up in the other map) compares
// such keys by pointer, so two groupings of the same values are unequal:
// groupBy(n, #) == groupBy(n, #) is false and != true, where the commit
// before gave true (a json.Number key compares by its digits).
func TestR35lGroupByDecimalKeyGroupsEqual(t *testing.T) {
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
      same_float_keys: { expr: "groupBy(n[1:], #) == groupBy(n[1:], #)", type: boolean }
      same: { expr: "groupBy(n, #) == groupBy(n, #)", type: boolean }
      differ: { expr: "groupBy(n, #) != groupBy(n, #)", type: boolean }
    sinks: { postgres: {} }
`, `
  - name: one grouping equals itself
    given:
      - { source: orders, after: { id: 1, n: ["12345678901234567.01", "0.50"] } }
    expect:
      v:
        "1":
          same_float_keys: true
          same: true
          differ: false
`)
}

// R35l: a group read by its key finds nothing when the key is a number:
// fnGroupKey (projections/exprdecimalops.go groupKey) stores an integer
// key as an int64 and a decimal no float holds as a decimal.Decimal, but
// the index of groupBy(...)[k] is looked up as it is (the literal 1 an
// int, a numeric column's element a decimal), and a Go map of any keys
// tells int 1 from int64 1 and compares decimals by pointer: the group of
// 1 in [1, 1, 2] reads as null (len 0), as does the group of n[0]. Text
// keys are found (["x","x"]['x'] has 2 items).
func TestR35lGroupByGroupReadByNumberKey(t *testing.T) {
	expectPass(t, head+`
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
      by_text: { expr: "len(groupBy(info.s, #)['x'])", type: bigint }
      by_int: { expr: "len(groupBy(info.a, #)[1])", type: bigint }
      by_decimal: { expr: "len(groupBy(n, #)[n[0]])", type: bigint }
      in_groups: { expr: "n[0] in groupBy(n, #)", type: boolean }
    sinks: { postgres: {} }
`, `
  - name: a group read by its number
    given:
      - { source: orders, after: { id: 1, n: ["12345678901234567.01", "12345678901234567.01"], info: { a: [1, 1, 2], s: ["x", "x"] } } }
    expect:
      v:
        "1":
          by_text: 2
          by_int: 2
          by_decimal: 2
          in_groups: true
`)
}
