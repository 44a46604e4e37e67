package projtest

import (
	"strings"
	"testing"
)

// TestR32dClockPinsNowInATimeZone: now() given a time zone
// (now(timezone("Europe/Paris")), expr-lang's way of reading the clock in
// a zone: opening hours, a local day) reads the clock too — validate lets
// such a view refresh — so a case's now: must pin it as it pins now().
// Today the rewrite (projections nowCall) replaces only now() without
// arguments, and the case reads the wall clock: a view keeping the orders
// of a pinned 2024 holds none of them.
func TestR32dClockPinsNowInATimeZone(t *testing.T) {
	cfg := head + `sources:
  orders: { topic: t.public.orders, key: id, columns: { id: bigint, at: timestamptz } }
views:
  this_year:
    from: orders
    refresh: 1h
    where: 'at.Year() == now(timezone("Europe/Paris")).Year()'
    fields: { id: id, local_year: { expr: 'now(timezone("UTC")).Year()', type: bigint } }
    sinks: { postgres: {} }
`
	fails := runCases(t, cfg, `
  - name: pinned in a time zone
    now: 2024-06-01T12:00:00Z
    given:
      - { source: orders, after: { id: 1, at: "2024-03-01T00:00:00Z" } }
    expect:
      this_year: { "1": { local_year: 2024 } }
`)
	if len(fails) > 0 {
		t.Errorf("now(timezone(…)) does not read the pinned clock:\n%s", strings.Join(fails, "\n"))
	}
}
