package projector_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/projectorhq/projector/projector"
)

// tombstonesYAML: users unwrapped by ExtractNewRecordState with its
// default delete.tombstone.handling.mode (tombstone): a delete leaves only
// a Kafka tombstone. Orders embed their user.
const tombstonesYAML = `
sources:
  users:
    topic: t.public.users
    key: id
    format: unwrapped
    tombstones: delete
    columns: { id: bigint, name: text }
  orders:
    topic: t.public.orders
    key: id
    columns: { id: bigint, user_id: bigint }
views:
  user_view:
    from: users
    fields: { id: id, name: name }
    sinks: { postgres: {} }
  order_view:
    from: orders
    fields:
      id: id
      customer: { one: users, on: { id: user_id }, fields: { name: name } }
    sinks: { postgres: {} }
`

// unwrappedUser is a users record after the SMT with add.fields=op,lsn;
// name "" makes a Kafka tombstone (null value) of user id.
func (r *reviewRig) unwrappedUser(id int64, name string, lsn int64) projector.Record {
	r.offset++
	rec := projector.Record{Topic: "t.public.users", Offset: r.offset, Key: must(json.Marshal(map[string]any{"id": id}))}
	if name != "" {
		rec.Value = must(json.Marshal(map[string]any{"id": id, "name": name, "__op": "c", "__lsn": lsn}))
	}
	return rec
}

// TestKafkaTombstoneDeletes: with tombstones: delete, a tombstone deletes
// the row its key names, in the batch after its row or in the same one, and
// the docs embedding it lose it; one of a row the state does not hold does
// nothing. The row created again afterwards is back, and so it is when the
// whole stream is replayed, in its order.
func TestKafkaTombstoneDeletes(t *testing.T) {
	r := newReviewRig(t, tombstonesYAML, true)
	created := []projector.Record{
		r.unwrappedUser(1, "ann", 100),
		r.unwrappedUser(2, "bob", 110),
		r.rec("orders", "c", map[string]any{"id": 1}, nil, map[string]any{"id": 1, "user_id": 1}, 120),
	}
	deleted := []projector.Record{r.unwrappedUser(1, "", 0)}
	sameBatch := []projector.Record{r.unwrappedUser(3, "cy", 130), r.unwrappedUser(3, "", 0), r.unwrappedUser(9, "", 0)}
	recreated := []projector.Record{r.unwrappedUser(1, "ann again", 140)}

	r.process(created, deleted)
	r.expectOnly("user_view", "2")
	r.expect("order_view", map[string]string{"1": `{"customer": null}`})

	r.process(sameBatch)
	r.expectOnly("user_view", "2")

	r.process(recreated)
	r.expect("user_view", map[string]string{"1": `{"name": "ann again"}`})
	r.expect("order_view", map[string]string{"1": `{"customer": {"name": "ann again"}}`})

	// A consumer restarted from the start: the tombstone deletes the row
	// as it stands, and the records after it bring it back.
	r.process(created, deleted, sameBatch, recreated)
	r.expectOnly("user_view", "1", "2")
	r.expect("order_view", map[string]string{"1": `{"customer": {"name": "ann again"}}`})
	// And in one batch.
	r.process(append(append(append(append([]projector.Record{}, created...), deleted...), sameBatch...), recreated...))
	r.expectOnly("user_view", "1", "2")
}

// TestKafkaTombstoneSkippedByDefault: without tombstones: delete a Kafka
// tombstone changes nothing: the delete event before it did the work.
func TestKafkaTombstoneSkippedByDefault(t *testing.T) {
	r := newReviewRig(t, strings.Replace(tombstonesYAML, "tombstones: delete", "", 1), true)
	r.process([]projector.Record{r.unwrappedUser(1, "ann", 100)}, []projector.Record{r.unwrappedUser(1, "", 0)})
	r.expectOnly("user_view", "1")
}

// TestKafkaTombstoneDeletesMongoDocument: ExtractNewDocumentState with its
// default tombstone handling leaves a delete as a tombstone keyed
// {"id": "<hex>"}; with tombstones: delete it deletes the document.
func TestKafkaTombstoneDeletesMongoDocument(t *testing.T) {
	const id = "6811137d0c9f202a34d861e0"
	cfg := strings.Replace(mongoConfig, "key: _id }", "key: _id, tombstones: delete }", 1)
	recs := []projector.Record{
		unwrappedRecord(id, `{"_id":"`+id+`","name":"Ada","__op":"c","__source_ts_ms":1000000,"__source_ord":1}`),
		unwrappedRecord(id, ""),
	}
	recs[1].Value = nil
	for kind, got := range mongoRun(t, cfg, recs, id) {
		if got != "<deleted>" {
			t.Errorf("%s state: got %s, want the document deleted", kind, got)
		}
	}
}
