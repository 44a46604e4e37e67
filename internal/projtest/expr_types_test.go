package projtest

import "testing"

const exprTypesCfg = head + `
sources:
  orders:
    topic: t.o
    key: id
    columns: { id: bigint, n: bigint, code: integer, total: "numeric(10,2)", d: date, ts: timestamptz }
views:
  v:
    from: orders
    fields:
      id: id
      plus: { expr: "n + 1", type: bigint }
      twice: { expr: "n * 2", type: bigint }
      code_text: { column: code, type: text }
      label: { expr: "'#' + code_text", type: text }
      tripled: { expr: "total * 3", type: "numeric(10,2)" }
      day: { expr: "d", type: date }
      ts_day: { expr: "ts", type: date }
      clock: { expr: "ts", type: time }
      at: { expr: "ts", type: timestamp }
    sinks: { postgres: {} }
`

// README: "At run time an error ... gives null". bigint arithmetic that
// overflows is such an error, as PostgreSQL's "bigint out of range", not a
// silent wrap-around (9223372036854775807 + 1 was -9223372036854775808).
func TestIntegerOverflowInExpression(t *testing.T) {
	expectPass(t, exprTypesCfg, `
  - name: overflow
    given:
      - { source: orders, after: { id: 1, n: 9223372036854775807 } }
    expect:
      v:
        "1": { plus: null, twice: null }
  - name: no overflow
    given:
      - { source: orders, after: { id: 1, n: -4611686018427387904 } }
    expect:
      v:
        "1": { plus: -4611686018427387903, twice: -9223372036854775808 }
`)
}

// A column field with a type of its own (`code_text: { column: code,
// type: text }`) is a string in the expressions after it, as validate
// type-checked it: "'#' + code_text" once always gave null.
func TestColumnRetypedAsTextInExpression(t *testing.T) {
	expectPass(t, exprTypesCfg, `
  - name: retyped
    given:
      - { source: orders, after: { id: 1, code: 42 } }
    expect:
      v:
        "1": { code_text: "42", label: "#42" }
`)
}

// An expression of type date, time or timestamp is written as a column of
// that type is: a date as YYYY-MM-DD (once "2024-01-02T00:00:00Z"), a time
// as HH:MM:SS.ffffff, a timestamp as RFC 3339 in UTC.
func TestDateExpressionRendering(t *testing.T) {
	expectPass(t, exprTypesCfg, `
  - name: date expr
    given:
      - { source: orders, after: { id: 1, d: "2024-01-02", ts: "2024-01-02T22:04:05.5-03:00" } }
    expect:
      v:
        "1": { day: "2024-01-02", ts_day: "2024-01-03", clock: "01:04:05.500000", at: "2024-01-03T01:04:05.5Z" }
`)
}

// An expression of type numeric(10,2) holds its result rounded to 2
// decimals, as PostgreSQL stores it, in every store and in projector test
// (0.10 * 3 was the float 0.30000000000000004); beyond 10 digits it is
// null, as PostgreSQL's "numeric field overflow".
func TestScaledNumericExpression(t *testing.T) {
	expectPass(t, exprTypesCfg, `
  - name: numeric(10,2) expr
    given:
      - { source: orders, after: { id: 1, total: "0.10" } }
      - { source: orders, after: { id: 2, total: "99999999.99" } }
    expect:
      v:
        "1": { tripled: "0.30" }
        "2": { tripled: null }
`)
}

// % takes numerics (the cents of a price: total % 1), computed exactly as
// PostgreSQL's numeric % (the sign of the dividend, the larger scale), and
// floats as math.Mod; it was refused, the checker typing a numeric as a
// float and expr-lang's % taking integers only.
func TestModuloOfNumerics(t *testing.T) {
	expectPass(t, head+`
sources:
  orders:
    topic: t.o
    key: id
    columns: { id: bigint, n: bigint, total: "numeric(10,2)", ratio: double precision, extra: jsonb }
views:
  v:
    from: orders
    fields:
      id: id
      cents: { expr: "total % 1", type: "numeric(10,2)" }
      by_three: { expr: "total % 3", type: numeric }
      by_n: { expr: "total % n", type: numeric }
      negative: { expr: "-total % 3", type: numeric }
      float_mod: { expr: "ratio % 1", type: double precision }
      ints: { expr: "n % 4", type: bigint }
      of_jsonb: { expr: "extra.q % 4", type: numeric }
      by_zero: { expr: "total % 0", type: numeric }
    sinks: { postgres: {} }
`, `
  - name: remainders
    given:
      - { source: orders, after: { id: 1, n: 7, total: "10.25", ratio: 2.75, extra: { q: 10.5 } } }
    expect:
      v:
        "1": { cents: "0.25", by_three: "1.25", by_n: "3.25", negative: "-1.25", float_mod: 0.75, ints: 3, of_jsonb: "2.5", by_zero: null }
`)
}

// A date an expression passes on whole into a jsonb field is written as
// PostgreSQL writes a date (2024-01-02), also inside an array or object
// and through string(); it was a timestamp (2024-01-02T00:00:00Z). A date an hour is added to is a timestamp, as
// PostgreSQL's date + interval is; comparisons with times are unchanged.
func TestDateKeepsItsFormThroughExpressions(t *testing.T) {
	expectPass(t, head+`
sources:
  orders:
    topic: t.o
    key: id
    columns: { id: bigint, d: date, ts: timestamptz }
views:
  v:
    from: orders
    fields:
      id: id
      as_json: { expr: "d", type: jsonb }
      str: { expr: "'due ' + string(d)", type: text }
      nested: { expr: "[d, ts]", type: jsonb }
      object: { expr: "{day: d}", type: jsonb }
      shifted: { expr: "d + duration('1h')", type: jsonb }
      before: { expr: "d < ts", type: boolean }
      same_day: { expr: "d == date('2024-01-02')", type: boolean }
    sinks: { postgres: {} }
`, `
  - name: dates
    given:
      - { source: orders, after: { id: 1, d: "2024-01-02", ts: "2024-01-02T22:04:05.5-03:00" } }
    expect:
      v:
        "1":
          as_json: "2024-01-02"
          str: "due 2024-01-02"
          nested: ["2024-01-02", "2024-01-03T01:04:05.5Z"]
          object: { day: "2024-01-02" }
          shifted: "2024-01-02T01:00:00Z"
          before: true
          same_day: true
`)
}

// now() has PostgreSQL's microseconds: a clock with nanoseconds (here a
// case's now:) gives none of them to the documents (string(now()) wrote
// all nine digits).
func TestNowHasMicroseconds(t *testing.T) {
	expectPass(t, head+`
sources:
  orders: { topic: t.o, key: id, columns: { id: bigint } }
views:
  v:
    from: orders
    fields:
      id: id
      at: { expr: "string(now())", type: text }
      nested: { expr: "[now()]", type: jsonb }
    sinks: { postgres: {} }
`, `
  - name: nanoseconds cut
    now: 2024-06-01T00:00:00.123456789Z
    given:
      - { source: orders, after: { id: 1 } }
    expect:
      v:
        "1": { at: "2024-06-01T00:00:00.123456Z", nested: ["2024-06-01T00:00:00.123456Z"] }
`)
}
