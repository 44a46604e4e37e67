package projector_test

import (
	"testing"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/projector"
)

// ExtractNewRecordState with delete.tombstone.handling.mode=tombstone
// and add.headers=op,lsn: a delete reaches Kafka as a tombstone whose
// headers carry the delete's op and position.
const unwrappedOrders = `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  orders: { topic: s.public.orders, key: id, format: unwrapped, columns: { id: bigint, status: text } }
views:
  order_view:
    from: orders
    fields: { id: id, status: status }
    sinks: { postgres: {} }
`

func unwrappedOrder(status string, lsn string) projector.Record {
	return projector.Record{Topic: "s.public.orders", Key: []byte(`{"id":7}`),
		Value: []byte(`{"id":7,"status":"` + status + `","__op":"c","__lsn":` + lsn + `}`)}
}

func orderTombstone(headers ...string) projector.Record {
	r := projector.Record{Topic: "s.public.orders", Key: []byte(`{"id":7}`)}
	for i := 0; i < len(headers); i += 2 {
		r.Headers = append(r.Headers, debezium.Header{Key: headers[i], Value: []byte(headers[i+1])})
	}
	return r
}

// TestTombstoneWithPositionDeletes: the tombstone the SMT made of a delete
// deletes the row, in both states.
func TestTombstoneWithPositionDeletes(t *testing.T) {
	recs := []projector.Record{
		unwrappedOrder("new", "100"),
		orderTombstone("__op", "d", "__lsn", "200"),
	}
	mongoWant(t, mongoRun(t, unwrappedOrders, recs, "7"), "<deleted>")
}

// TestTombstoneDeleteReplayed: a replay from before the delete (a restart
// from older offsets, `rebuild --from kafka`) must not delete the row
// created again after it: the tombstone's position orders it, where a
// positionless delete would win over the newer insert.
func TestTombstoneDeleteReplayed(t *testing.T) {
	first := []projector.Record{
		unwrappedOrder("new", "100"),
		orderTombstone("__op", "d", "__lsn", "200"),
		unwrappedOrder("again", "300"),
	}
	recs := append(append([]projector.Record{}, first...), first...)
	mongoWant(t, mongoRun(t, unwrappedOrders, recs, "7"), `{"id":7,"status":"again"}`)
}

// TestTombstoneWithoutPositionKeepsRow: Debezium's own tombstone after a
// rewritten delete carries "__op": "d" but no position
// (rewrite-with-tombstone): a compaction marker, not a delete.
func TestTombstoneWithoutPositionKeepsRow(t *testing.T) {
	recs := []projector.Record{
		unwrappedOrder("new", "100"),
		orderTombstone("__op", "d"),
	}
	mongoWant(t, mongoRun(t, unwrappedOrders, recs, "7"), `{"id":7,"status":"new"}`)
}

// TestMongoTombstoneWithPositionDeletes: ExtractNewDocumentState with
// add.headers=op,source.ts_ms,source.ord.
func TestMongoTombstoneWithPositionDeletes(t *testing.T) {
	const id = "6811137d0c9f202a34d861e0"
	del := unwrappedRecord(id, "")
	del.Value = nil
	del.Headers = []debezium.Header{{Key: "__op", Value: []byte("d")},
		{Key: "__source_ts_ms", Value: []byte("1001000")}, {Key: "__source_ord", Value: []byte("1")}}
	recs := []projector.Record{
		unwrappedRecord(id, `{"_id":"`+id+`","name":"Ada","__op":"c","__collection":"users","__source_ts_ms":1000000,"__source_ord":1}`),
		del,
	}
	mongoWant(t, mongoRun(t, mongoConfig, recs, id), "<deleted>")
}
