package projtest

import (
	"strings"
	"testing"
)

const subMicrosecondIDCfg = head + `sources:
  ev:
    topic: db.public.ev
    key: id
    columns: { id: bigint, at: timestamptz, t: time }
views:
  by_at:
    from: ev
    group_by: at
    fields: { at: at, n: { agg: count } }
    sinks: { postgres: {} }
  by_t:
    from: ev
    group_by: t
    fields: { t: t, n: { agg: count } }
    sinks: { postgres: {} }
`

// An id holding a time or timestamp finer than a microsecond names no
// document, as `projector query` answers 404 for it: rounded, it would
// name the document of another instant. So absent: of it passes, and
// expect: of it fails, though a document lies within the microsecond.
func TestIDFinerThanAMicrosecondNamesNoDocument(t *testing.T) {
	expectPass(t, subMicrosecondIDCfg, `  - name: finer ids are absent
    given:
      - { source: ev, after: { id: 1, at: "2024-06-01T00:00:00Z", t: "12:00:00" } }
    absent:
      by_at: ["2024-06-01T00:00:00.0000004Z"]
      by_t: ["12:00:00.0000004"]
    expect:
      by_at: { "2024-06-01T00:00:00.000000Z": { n: 1 } }
      by_t: { "12:00:00.000000": { n: 1 } }
`)
	fails := runCases(t, subMicrosecondIDCfg, `  - name: finer ids are expected
    given:
      - { source: ev, after: { id: 1, at: "2024-06-01T00:00:00Z", t: "12:00:00" } }
    expect:
      by_at: { "2024-06-01T00:00:00.0000004Z": { n: 1 } }
      by_t: { "12:00:00.0000004": { n: 1 } }
`)
	if len(fails) != 2 {
		t.Fatalf("want both expectations of an id finer than a microsecond to fail (no such document), got %d:\n%s", len(fails), strings.Join(fails, "\n"))
	}
}
