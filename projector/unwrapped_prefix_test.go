package projector_test

import (
	"testing"

	"github.com/projectorhq/projector/projector"
)

// A connector whose ExtractNewRecordState has add.fields.prefix=meta_ and
// add.headers.prefix=hdr_, declared so.
const prefixedOrders = `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  orders:
    topic: s.public.orders
    key: id
    format: unwrapped
    unwrapped: { fields_prefix: meta_, headers_prefix: hdr_ }
    columns: { id: bigint, status: text }
views:
  order_view:
    from: orders
    fields: { id: id, status: status }
    sinks: { postgres: {} }
`

func prefixedOrder(members string) projector.Record {
	return projector.Record{Topic: "s.public.orders", Key: []byte(`{"id":7}`), Value: []byte(`{"id":7,"status":"new",` + members + `}`)}
}

// TestFieldsPrefixDeleteRewrite: the delete rewrite's meta_deleted deletes
// the row, and meta_lsn orders it: the create replayed from before it
// (a restart from older offsets) does not bring the row back.
func TestFieldsPrefixDeleteRewrite(t *testing.T) {
	recs := []projector.Record{
		prefixedOrder(`"meta_op":"c","meta_lsn":100`),
		prefixedOrder(`"meta_op":"d","meta_lsn":200,"meta_deleted":"true"`),
		prefixedOrder(`"meta_op":"c","meta_lsn":100`),
	}
	mongoWant(t, mongoRun(t, prefixedOrders, recs, "7"), "<deleted>")
}

// TestHeadersPrefixTombstoneDeletes: under delete.tombstone.handling.mode
// tombstone, the delete is a tombstone positioned by hdr_op and hdr_lsn.
func TestHeadersPrefixTombstoneDeletes(t *testing.T) {
	recs := []projector.Record{
		prefixedOrder(`"meta_op":"c","meta_lsn":100`),
		orderTombstone("hdr_op", "d", "hdr_lsn", "200"),
	}
	mongoWant(t, mongoRun(t, prefixedOrders, recs, "7"), "<deleted>")
}
