package projtest

import "testing"

// TestR35iGroupByKeepsBigintsApart: groupBy's keys became "one Go value per
// nearest float" for every number (ee9e91b), integers included. Two
// bigints above 2^53 (snowflake ids: 1234567890123456789 and ...790) have
// one nearest float, so they are merged into one group, and that group is
// keyed "1234567890123456768", the text of neither. Integers are exact
// (README: bigint arithmetic is exact and overflow is an error); grouping
// them by a float loses data. Before that commit each was its own group.
func TestR35iGroupByKeepsBigintsApart(t *testing.T) {
	expectPass(t, head+`
sources:
  orders:
    topic: t.o
    key: id
    columns: { id: bigint, ids: "bigint[]", info: jsonb }
views:
  v:
    from: orders
    fields:
      id: id
      of_array: { expr: "groupBy(ids, #)", type: jsonb }
      of_jsonb: { expr: "groupBy(info.ids, #)", type: jsonb }
      groups: { expr: "len(groupBy(ids, #))", type: bigint }
    sinks: { postgres: {} }
`, `
  - name: two snowflake ids
    given:
      - { source: orders, after: { id: 1, ids: [1234567890123456789, 1234567890123456790], info: { ids: [1234567890123456789, 1234567890123456790] } } }
    expect:
      v:
        "1":
          of_array: { "1234567890123456789": [1234567890123456789], "1234567890123456790": [1234567890123456790] }
          of_jsonb: { "1234567890123456789": [1234567890123456789], "1234567890123456790": [1234567890123456790] }
          groups: 2
`)
}

// TestR35iGroupByDateKeyIsADate: README: "A date ... keeps its form when an
// expression passes it on into jsonb ... (2024-01-02 ...; inside an array
// or object too)" and "a groupBy result is an object keyed by each key's
// text". A groupBy by a date keys its group "2024-01-02T00:00:00Z"
// (projections.KeyText formats every time.Time as a timestamp), while
// string(d), the group's own items and keys() of the same groups all give
// "2024-01-02".
func TestR35iGroupByDateKeyIsADate(t *testing.T) {
	expectPass(t, head+`
sources:
  orders:
    topic: t.o
    key: id
    columns: { id: bigint, d: date }
views:
  v:
    from: orders
    fields:
      id: id
      by_day: { expr: "groupBy([d, d], #)", type: jsonb }
      days: { expr: "keys(groupBy([d], #))", type: jsonb }
    sinks: { postgres: {} }
`, `
  - name: a date as a key
    given:
      - { source: orders, after: { id: 1, d: "2024-01-02" } }
    expect:
      v:
        "1":
          by_day: { "2024-01-02": ["2024-01-02", "2024-01-02"] }
          days: ["2024-01-02"]
`)
}

// TestR35iDatePlusIntervalIsATimestamp: README: "A date ... keeps its form
// ...; plus an hour it is a timestamp, as date + interval is". PostgreSQL's
// date + interval is a timestamp whatever the interval ('2024-01-02'::date
// + interval '24 hours' is 2024-01-03 00:00:00), but IsDate only looks at
// the clock: a date plus (or minus) a whole number of days stays a date, so
// d + duration('24h') is written "2024-01-03" and d + duration('25h')
// "2024-01-03T01:00:00Z": the form of one field changes with its value.
func TestR35iDatePlusIntervalIsATimestamp(t *testing.T) {
	expectPass(t, head+`
sources:
  orders:
    topic: t.o
    key: id
    columns: { id: bigint, d: date }
views:
  v:
    from: orders
    fields:
      id: id
      next_day: { expr: "d + duration('24h')", type: jsonb }
      day_before: { expr: "d - duration('24h')", type: jsonb }
      as_text: { expr: "string(d + duration('48h'))", type: text }
    sinks: { postgres: {} }
`, `
  - name: a date plus whole days
    given:
      - { source: orders, after: { id: 1, d: "2024-01-02" } }
    expect:
      v:
        "1":
          next_day: "2024-01-03T00:00:00Z"
          day_before: "2024-01-01T00:00:00Z"
          as_text: "2024-01-04T00:00:00Z"
`)
}

// TestR35iScalarTimeInArrayFieldIsRefused: README: "A result is written as
// a column of its type holds it, the same in every store", each element of
// an array result by its element's type. A single time given to an array
// field (`info.x ?? ts`, of any type to the check, into timestamptz[]) is
// written as the text "2024-01-03T04:30:00Z" (timeResult's t.Array
// branch), which no timestamptz[] column holds: PostgreSQL's
// jsonb_to_recordset refuses it ("malformed array literal") and the
// document is refused there while Redis and Elasticsearch store a scalar.
// A number in a bigint[] field is null and counted, as it should be.
func TestR35iScalarTimeInArrayFieldIsRefused(t *testing.T) {
	expectPass(t, head+`
sources:
  orders:
    topic: t.o
    key: id
    columns: { id: bigint, d: date, ts: timestamptz, info: jsonb }
views:
  v:
    from: orders
    fields:
      id: id
      stamps: { expr: "info.x ?? ts", type: "timestamptz[]" }
      days: { expr: "info.x ?? d", type: "date[]" }
      numbers: { expr: "info.x ?? 5", type: "bigint[]" }
    sinks: { postgres: {} }
`, `
  - name: a single time for an array
    given:
      - { source: orders, after: { id: 1, d: "2024-01-02", ts: "2024-01-02T23:30:00-05:00", info: {} } }
    expect:
      v:
        "1": { stamps: null, days: null, numbers: null }
`)
}
