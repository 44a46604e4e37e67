package projtest

import "testing"

// TestExpectationsAsStoresHoldThem: `projector test` should compare
// documents as the stores hold them (README "Testing your views": "the
// same rules as the PostgreSQL one"). A timestamptz(0) column holds whole
// seconds in PostgreSQL (03:04:05.6 is stored 03:04:06, PostgreSQL docs
// 8.5), a real holds a float4 (3.14159265358979 is stored 3.1415927), an
// expression typed uuid is stored lower-case. The in-memory engine rounds
// them as the decoder does for every store (see
// internal/query/fidelity_test.go), so these expectations are what a
// reader of the PostgreSQL view gets.
func TestExpectationsAsStoresHoldThem(t *testing.T) {
	cfg := head + `sources:
  items:
    topic: app.public.items
    key: id
    columns: { id: bigint, tz0: "timestamptz(0)", r: real, u: uuid }
views:
  v:
    from: items
    fields: { id: id, tz0: tz0, r: r, e_uuid: { expr: "upper(u)", type: uuid } }
    sinks: { postgres: { table: v } }
`
	expectPass(t, cfg, `
  - name: values as PostgreSQL stores them
    given:
      - { source: items, after: { id: 1, tz0: "2024-01-02T03:04:05.6Z", r: 3.14159265358979, u: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11" } }
    expect:
      v:
        "1": { tz0: "2024-01-02T03:04:06Z", r: 3.1415927, e_uuid: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11" }
`)
}
