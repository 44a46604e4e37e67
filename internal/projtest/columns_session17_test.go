package projtest

import "testing"

// s17ColumnsCfg has a source that declares its columns and one that
// declares none (its rows kept whole, any column read).
const s17ColumnsCfg = head + `sources:
  orders:
    topic: shop.public.orders
    key: id
    columns: { id: bigint, user_id: text, status: text, total: "numeric(10,2)" }
  events:
    topic: shop.public.events
    key: id
views:
  order_view:
    from: orders
    fields: { id: id, status: status, total: total }
    sinks: { postgres: { table: order_view } }
  event_view:
    from: events
    fields: { id: id, kind: kind }
    sinks: { postgres: { table: event_view } }
`

// A column of a short record that its source does not declare makes the
// file malformed, at the column's file:line:col, naming the declared
// column it is likely a typo of, else every declared one; in before and
// after alike, and with the file's other problems, in the file's order.
func TestS17UnknownColumnOfShortRecord(t *testing.T) {
	for _, tc := range []struct {
		name, cases, want string
	}{{
		name: "a typo in after",
		cases: `  - name: typo
    given:
      - { source: orders, after: { id: 1, user_id: u1, stauts: paid } }
    expect: { order_view: { "1": { status: paid } } }
`,
		want: `malformed test file: DIR/t.yaml:5:56: after: source orders has no column "stauts" (did you mean "status"?)`,
	}, {
		name: "a column's case",
		cases: `  - name: case
    given:
      - source: orders
        after:
          id: 1
          Status: paid
    expect: { order_view: { "1": { status: paid } } }
`,
		want: `malformed test file: DIR/t.yaml:8:11: after: source orders has no column "Status" (did you mean "status"?)`,
	}, {
		name: "no column close to it",
		cases: `  - name: far
    given:
      - { source: orders, after: { id: 1, coupon: X } }
    expect: { order_view: { "1": {} } }
`,
		want: `malformed test file: DIR/t.yaml:5:43: after: source orders has no column "coupon" (columns: id, user_id, status, total)`,
	}, {
		name: "in the before of an update and of a delete",
		cases: `  - name: before
    given:
      - { source: orders, after: { id: 1, status: paid } }
      - { source: orders, op: u, before: { id: 1, totl: 1 }, after: { id: 1, status: shipped } }
      - { source: orders, op: d, before: { idd: 1 } }
    absent: { order_view: ["1"] }
`,
		want: `malformed test file: DIR/t.yaml:6:51: before: source orders has no column "totl" (did you mean "total"?)
malformed test file: DIR/t.yaml:7:44: before: source orders has no column "idd" (did you mean "id"?)`,
	}, {
		name: "through an alias and a merge key, where they are used",
		cases: `  - name: alias
    given:
      - { source: orders, after: &row { id: 1, stauts: paid } }
      - { source: orders, op: u, after: { <<: *row, total: 2 } }
    expect: { order_view: { "1": {} } }
`,
		want: `malformed test file: DIR/t.yaml:5:48: after: source orders has no column "stauts" (did you mean "status"?)
malformed test file: DIR/t.yaml:6:47: after: source orders has no column "stauts" (did you mean "status"?)`,
	}, {
		name: "with an unknown view, in the file's order",
		cases: `  - name: two problems
    given:
      - { source: orders, after: { id: 1, user: u1 } }
    expect: { order_vew: { "1": {} } }
`,
		want: `malformed test file: DIR/t.yaml:5:43: after: source orders has no column "user" (columns: id, user_id, status, total)
malformed test file: DIR/t.yaml:6:15: unknown view "order_vew" (known: order_view, event_view)`,
	}, {
		name: "with a record that does not parse",
		cases: `  - name: bad op
    given:
      - { source: orders, op: z, after: { id: 1 } }
      - { source: orders, after: { id: 2, totl: 1 } }
    expect: { order_view: { "1": {} } }
`,
		want: `malformed test file: DIR/t.yaml:5:31: op "z": want c, r, u or d
malformed test file: DIR/t.yaml:6:43: after: source orders has no column "totl" (did you mean "total"?)`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, res := s17Run(t, s17ColumnsCfg, tc.cases)
			if res != nil || got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// Undeclared columns stay accepted where they cannot be typos of a
// declared one: in a short record of a source that declares no columns,
// whose views read any column; and in a raw Debezium record, pasted with
// every column of its table, which a source need not declare. The
// declared ones are projected as ever.
func TestS17UndeclaredColumnsAccepted(t *testing.T) {
	for _, tc := range []struct{ name, cases string }{{
		name: "a source without declared columns",
		cases: `  - name: any column
    given:
      - { source: events, after: { id: 1, kind: click, anything: [1, 2] } }
    expect: { event_view: { "1": { kind: click } } }
`,
	}, {
		name: "a raw Debezium record",
		cases: `  - name: raw
    given:
      - topic: shop.public.orders
        key: { id: 1 }
        value: { op: c, after: { id: 1, user_id: u1, status: paid, total: 2, coupon: X, created_at: 1 } }
    expect: { order_view: { "1": { status: paid, total: "2.00" } } }
`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			if got, res := s17Run(t, s17ColumnsCfg, tc.cases); res == nil || res.Passed != 1 {
				t.Errorf("got:\n%s\nwant the case to pass", got)
			}
		})
	}
}
