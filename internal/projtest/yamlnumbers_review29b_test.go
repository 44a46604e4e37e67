package projtest

import "testing"

const r29bNumbersCfg = head + `
sources:
  orders:
    topic: t.o
    key: id
    columns: { id: bigint, n: integer, f: "double precision", j: jsonb }
views:
  ov:
    from: orders
    fields: { id: id, n: n, f: f, j: j }
    sinks: { postgres: {} }
`

// TestR29bYAMLNumbersInGivenRecords: a test file is plain YAML (README),
// and value() promises "a node to a JSON value, numbers exact as written".
// But a YAML number whose text is not JSON syntax (.5, 1_000, +1, 0x10,
// 2.) is turned into a JSON *string*: the short record below fails
// ("f: expected a number, found string \".5\"", "n: expected an integer,
// found a string"), and inside a jsonb column the number silently becomes
// the text ".5" in the document.
func TestR29bYAMLNumbersInGivenRecords(t *testing.T) {
	expectPass(t, r29bNumbersCfg, `
  - name: numbers as YAML writes them
    given:
      - { source: orders, after: { id: 1, n: 1_000, f: .5, j: { a: .5, b: +1 } } }
    expect:
      ov:
        "1": { n: 1000, f: 0.5, j: { a: 0.5, b: 1 } }
`)
}

// TestR29bYAMLNumbersInExpectations: README: "Numbers ... compare by
// value". An expected YAML integer written in hexadecimal or with
// underscores (0x10, 1_000) is the number 16 or 1000, yet sameNumber
// parses its text with decimal.NewFromString, fails, and reports
// "field n = 1000, want \"1_000\"".
func TestR29bYAMLNumbersInExpectations(t *testing.T) {
	expectPass(t, r29bNumbersCfg, `
  - name: expected numbers as YAML writes them
    given:
      - { source: orders, after: { id: 16, n: 1000 } }
    expect:
      ov:
        "16": { id: 0x10, n: 1_000 }
`)
}
