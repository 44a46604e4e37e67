package projtest

import "testing"

const timestampCfg = head + `
sources:
  orders:
    topic: t.o
    key: id
    columns: { id: bigint }
  events:
    topic: t.e
    key: id
    columns: { id: bigint, order_id: bigint, at: timestamptz }
views:
  v:
    from: orders
    fields:
      id: id
      events:
        many: events
        on: { order_id: id }
        order_by: [-at]
        fields: { id: id, at: at }
      last_at: { agg: max, of: events.at }
      first_at: { agg: min, of: events.at }
    sinks: { postgres: {} }
`

// Timestamps are stored as RFC 3339 with trailing fractional zeros trimmed,
// so a whole second has no fraction: they order as instants, not as text,
// where "…:00Z" would sort after "…:00.5Z".
func TestTimestampsOrderAsInstants(t *testing.T) {
	expectPass(t, timestampCfg, `
  - name: whole second vs fraction
    given:
      - { source: orders, after: { id: 1 } }
      - { source: events, after: { id: 10, order_id: 1, at: "2024-01-01T00:00:00.5Z" } }
      - { source: events, after: { id: 11, order_id: 1, at: "2024-01-01T00:00:00Z" } }
      - { source: events, after: { id: 12, order_id: 1, at: "2024-01-01T00:00:01Z" } }
    expect:
      v:
        "1":
          events: [ { id: 12 }, { id: 10 }, { id: 11 } ]
          first_at: "2024-01-01T00:00:00Z"
          last_at: "2024-01-01T00:00:01Z"
`)
}
