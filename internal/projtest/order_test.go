package projtest

import (
	"strings"
	"testing"
)

// ordersCfg is a small config: orders keyed by id, with a plain view.
const ordersCfg = head + `sources:
  orders:
    topic: shop.public.orders
    key: id
    columns: { id: bigint, user_id: text, status: text, total: "numeric(10,2)", paid: boolean }
views:
  order_view:
    from: orders
    fields: { id: id, user_id: user_id, status: status, total: total, paid: paid }
    sinks: { postgres: { table: order_view } }
`

// pgRecord is a raw Debezium PostgreSQL record of order 1 with a status,
// at an LSN.
func pgRecord(status, lsn string) string {
	return `      - topic: shop.public.orders
        key: { id: 1 }
        value:
          op: u
          after: { id: 1, user_id: u1, status: ` + status + ` }
          source: { connector: postgresql, name: shop, db: shop, schema: public, table: orders, lsn: ` + lsn + `, ts_ms: 1 }
`
}

// A short record given after a raw record of the same row is the later
// change, though the raw one carries an LSN.
func TestShortRecordAfterRawRecordWins(t *testing.T) {
	expectPass(t, ordersCfg, `  - name: raw create, then a short update
    given:
`+pgRecord("paid", "1000")+`      - { source: orders, op: u, after: { id: 1, user_id: u1, status: shipped } }
    expect:
      order_view: { "1": { status: shipped } }
`)
}

// A raw record without a source position given after a short record of
// the same row is the later change.
func TestRawRecordWithoutPositionAfterShortWins(t *testing.T) {
	expectPass(t, ordersCfg, `  - name: short create, then a raw update
    given:
      - { source: orders, after: { id: 1, user_id: u1, status: paid } }
      - { topic: shop.public.orders, key: { id: 1 }, value: { op: u, after: { id: 1, user_id: u1, status: shipped } } }
    expect:
      order_view: { "1": { status: shipped } }
`)
}

// After a raw TRUNCATE, which carries an LSN, a short create is a new row.
func TestShortRecordAfterRawTruncate(t *testing.T) {
	expectPass(t, ordersCfg, `  - name: truncate, then a new order
    given:
      - { source: orders, after: { id: 1, user_id: u1, status: paid } }
      - { topic: shop.public.orders, key: null, value: { op: t, before: null, after: null, source: { connector: postgresql, lsn: 500, ts_ms: 1 } } }
      - { source: orders, after: { id: 2, user_id: u1, status: paid } }
    absent:
      order_view: ["1"]
    expect:
      order_view: { "2": { status: paid } }
`)
}

// Raw records keep the positions they carry: one written with an older
// LSN than a change before it is a replay, dropped as projector drops it,
// and a short record after both is still the newest change.
func TestRawRecordsKeepTheirPositions(t *testing.T) {
	expectPass(t, ordersCfg, `  - name: an older replay is dropped
    given:
`+pgRecord("shipped", "2000")+pgRecord("paid", "1000")+`    expect:
      order_view: { "1": { status: shipped } }
  - name: a short record after an older replay
    given:
`+pgRecord("shipped", "2000")+pgRecord("paid", "1000")+`      - { source: orders, op: u, after: { id: 1, user_id: u1, status: delivered } }
    expect:
      order_view: { "1": { status: delivered } }
`)
}

// A MongoDB record's position is its oplog time and ordinal: a short
// record after it is still the later change.
func TestShortRecordAfterMongoRecordWins(t *testing.T) {
	cfg := head + `sources:
  users:
    topic: shopmongo.shop.users
    key: _id
    columns: { _id: text, name: text }
views:
  user_view:
    from: users
    fields: { id: _id, name: name }
    sinks: { postgres: {} }
`
	expectPass(t, cfg, `  - name: mongo create, then a short update
    given:
      - topic: shopmongo.shop.users
        key: { id: '"u1"' }
        value:
          after: '{"_id": "u1", "name": "Ada"}'
          source: { connector: mongodb, name: shopmongo, ts_ms: 1762000000000, db: shop, collection: users, ord: 3 }
          op: c
      - { source: users, op: u, after: { _id: u1, name: Bob } }
    expect:
      user_view: { u1: { name: Bob } }
`)
}

// A raw TRUNCATE without a source position cannot be ordered: projector
// refuses it, and so does the case, at the record's line.
func TestRawTruncateWithoutPositionFails(t *testing.T) {
	fails := runCases(t, ordersCfg, `  - name: truncate without position
    given:
      - { source: orders, after: { id: 1, user_id: u1, status: paid } }
      - { topic: shop.public.orders, key: null, value: { op: t, before: null, after: null } }
    expect:
      order_view: { "1": { status: paid } }
`)
	if len(fails) != 1 || !strings.Contains(fails[0], "t.yaml:6:") || !strings.Contains(fails[0], "no source position") {
		t.Errorf("failures %q, want the truncate refused at its line", fails)
	}
}
