package projtest

import (
	"strings"
	"testing"
)

// TestR28gColumnRetypeAsPostgresHoldsIt: a column field with a type of its
// own (config/doc.go: `total: { column: total, type: numeric }`): a
// numeric(10,2) 10.25 as numeric(10,1), a timestamp as date, a boolean as
// text.
// Expected (README, "Testing your views": the in-memory engine has "the
// same rules as the PostgreSQL one", so a team tests what production
// computes; "A result is written as a column of its type holds it, the same
// in every store … `true` as `text` is `"true"`"): the document holds what
// the view's PostgreSQL columns hold, a: 10.3, d: "2024-01-02", e: "true".
// Got: a = "10.25", d = "2024-01-02T03:30:00Z", e = true: the builder
// (projector/build.go, case projections.KindColumn) copies the row's value
// whatever the field's type, so a case expecting what a reader of the
// PostgreSQL view gets fails, and one expecting the raw value passes.
func TestR28gColumnRetypeAsPostgresHoldsIt(t *testing.T) {
	cfg := head + `sources:
  o:
    topic: app.public.o
    key: id
    columns: { id: bigint, total: "numeric(10,2)", created_at: timestamp, flag: boolean }
views:
  v:
    from: o
    fields:
      id: id
      a: { column: total, type: "numeric(10,1)" }
      d: { column: created_at, type: date }
      e: { column: flag, type: text }
    sinks: { postgres: { table: v } }
`
	fails := runCases(t, cfg, `
  - name: retyped columns as the PostgreSQL view holds them
    given:
      - { source: o, after: { id: 1, total: "10.25", created_at: "2024-01-02T03:30:00", flag: true } }
    expect:
      v:
        "1": { a: 10.3, d: "2024-01-02", e: "true" }
`)
	if len(fails) > 0 {
		t.Errorf("failures:\n%s", strings.Join(fails, "\n"))
	}
}
