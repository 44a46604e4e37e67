package projtest

import "testing"

// TestR35jGroupByKeepsDecimalsApart: 3662bb3 made groupBy's integer keys
// exact (two snowflake ids were one group), but decimals still go through
// their nearest float (projections/exprdecimalops.go groupKey): two
// numeric(20,2) values 12345678901234567.01 and .02 (exact values to
// expressions, README: numerics compute exactly) are merged into one
// group keyed "12345678901234568", the text of neither.
func TestR35jGroupByKeepsDecimalsApart(t *testing.T) {
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
      of_array: { expr: "len(groupBy(n, #))", type: bigint }
      of_jsonb: { expr: "len(groupBy(info.n, #))", type: bigint }
    sinks: { postgres: {} }
`, `
  - name: two decimals one float apart
    given:
      - { source: orders, after: { id: 1, n: ["12345678901234567.01", "12345678901234567.02"], info: { n: [12345678901234567.01, 12345678901234567.02] } } }
    expect:
      v:
        "1": { of_array: 2, of_jsonb: 2 }
`)
}

// TestR35jGroupByOneInstantIsOneGroup: groupBy keys a time by the Go value
// (location included), while KeyText writes it in UTC: one instant written
// with two offsets (date() of "10:00+01:00" and of "09:00Z", equal to
// expr's ==, as PostgreSQL's GROUP BY on timestamptz takes them) makes two
// groups with one key text, and the whole field is null.
func TestR35jGroupByOneInstantIsOneGroup(t *testing.T) {
	expectPass(t, head+`
sources:
  orders:
    topic: t.o
    key: id
    columns: { id: bigint, info: jsonb }
views:
  v:
    from: orders
    fields:
      id: id
      by_instant: { expr: "groupBy(map(info.at, date(#)), #)", type: jsonb }
    sinks: { postgres: {} }
`, `
  - name: one instant, two offsets
    given:
      - { source: orders, after: { id: 1, info: { at: ["2024-01-02T10:00:00+01:00", "2024-01-02T09:00:00Z"] } } }
    expect:
      v:
        "1":
          by_instant: { "2024-01-02T09:00:00Z": ["2024-01-02T09:00:00Z", "2024-01-02T09:00:00Z"] }
`)
}
