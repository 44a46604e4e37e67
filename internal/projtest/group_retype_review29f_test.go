package projtest

import "testing"

const R29fGroupRetypeCfg = head + `
sources:
  o: { topic: t.o, key: id, columns: { id: bigint, day: timestamptz, amt: "numeric(10,2)" } }
views:
  st:
    from: o
    group_by: [day, amt]
    fields:
      day: day
      amt: amt
      on: { column: day, type: date }
      amt1: { column: amt, type: "numeric(10,1)" }
      n: { agg: count }
    sinks: { postgres: {} }
`

// A group_by view's column field with its own type: is held to that type,
// as the README promises for every column field ("a timestamp as date is
// its day", numeric(10,1) of 10.25 is "10.3"), and as validate accepts it.
// Today the group's raw value is written as it is, so Redis and
// Elasticsearch get "2024-01-01T10:00:00Z" and "10.25" where the
// PostgreSQL column of the declared type holds 2024-01-01 and 10.3.
// (The group's id fields keep their columns' types: an id field that
// retypes its column into fewer values is refused, see
// projections.lossyIDs; the retyped values are fields beside them.)
func TestR29fGroupColumnFieldIsRetyped(t *testing.T) {
	expectPass(t, R29fGroupRetypeCfg, `
  - name: a retyped group column
    given:
      - { source: o, after: { id: 1, day: "2024-01-01T10:00:00Z", amt: "10.25" } }
    expect:
      st:
        '["2024-01-01T10:00:00Z", "10.25"]': { day: "2024-01-01T10:00:00Z", amt: "10.25", on: "2024-01-01", amt1: "10.3", n: 1 }
`)
}
