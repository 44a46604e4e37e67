package projector_test

import (
	"testing"

	"github.com/projectorhq/projector/projector"
)

// TestR34iReplayedTransactionPatchBeforeDeleteIsNotDeadLettered: the events
// of one MongoDB transaction share its clusterTime, so Debezium gives them
// one position (source.ts_ms and source.ord; 2.x change streams, as 1.x's
// oplog entries of one applyOps). A transaction that updates a user and
// then deletes it emits a partial update and a delete at the same
// position. Debezium delivers at least once (a connector restart re-emits
// the events after its last committed offset, and a consumer restarting
// before its commit reads its batch again), and replays are harmless
// (DESIGN.md). Here the replayed partial update meets the tombstone the
// delete left at that same position: applySQL's unbased test
// (o.deleted AND o.pos <= i.pos) takes it for a patch of a row deleted
// before it and dead-letters the valid record; with errors.tolerance none
// that stops the consumer, and every restart stops on it again. It is a
// replay, stale as any other, and must be skipped.
func TestR34iReplayedTransactionPatchBeforeDeleteIsNotDeadLettered(t *testing.T) {
	create := `{"_id": ` + r34iOID + `, "name": "Ada", "email": "a@x"}`
	txnPatch := r34iUser2x("u", r34iOID, "", "", r34iUD(`{"name": "Ada L."}`, nil, nil), 1001, 3, "false")
	txnDelete := r34iUser2x("d", r34iOID, "", "", nil, 1001, 3, "false")
	recs := []projector.Record{
		r34iUser2x("c", r34iOID, "", create, nil, 1000, 1, "false"),
		r34iOrder("c", 1, r34iHex, 10),
		txnPatch, txnDelete,
		// redelivered
		txnPatch, txnDelete,
	}
	want := map[string]string{"1": r34iOrderDoc(1, "", "")}
	for _, batch := range []int{1, 2} {
		r34iWant(t, r34iRun(t, r34iCfg, recs, batch), want, 0)
	}
}
