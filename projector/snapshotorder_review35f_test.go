package projector_test

import (
	"testing"

	"github.com/projectorhq/projector/projector"
)

// A PostgreSQL table read through ExtractNewRecordState, as the README
// recommends configuring it (add.fields=op,lsn; here and there with
// source.snapshot too).
const r35fUnwrappedYAML = `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  orders:
    topic: s.public.orders
    key: id
    format: unwrapped
    columns: { id: bigint, status: text }
views:
  order_view:
    from: orders
    fields: { id: id, status: status }
    sinks: { postgres: {} }
`

func r35fOrder(status, meta string) projector.Record {
	return projector.Record{Topic: "s.public.orders", Key: []byte(`{"id":7}`),
		Value: []byte(`{"id":7,"status":"` + status + `",` + meta + `}`)}
}

// r35fIncrementalWindow is what Debezium's incremental snapshot (DBLog)
// emits for row 7, unwrapped: the row was created long ago (LSN 100); a
// chunk read it ("old") while transaction T, which had updated it at LSN
// 380, was still open; the window's close watermark was inserted at LSN
// 400, so the chunk is emitted with LSN 400; T committed after the close
// watermark, so its update was not in the window (the chunk kept the row)
// and is streamed after the read. The source's row is "new".
func r35fIncrementalWindow(readMeta string) []projector.Record {
	return []projector.Record{
		r35fOrder("old", `"__op":"c","__lsn":100`),
		r35fOrder("old", `"__op":"r","__lsn":400`+readMeta),
		r35fOrder("new", `"__op":"u","__lsn":380`),
	}
}

// TestR35fUnwrappedIncrementalReadKeepsLaterUpdate: the same stream with
// the SMT's add.fields also naming snapshot (__snapshot: "incremental")
// must converge as it does without it (where the read is taken as a
// snapshot's and the update, streamed after it, replaces it): the update
// committed after the read. With __snapshot the read is ordered by its LSN
// alone and the newer update is dropped as stale; the view keeps "old".
func TestR35fUnwrappedIncrementalReadKeepsLaterUpdate(t *testing.T) {
	want := `{"id":7,"status":"new"}`
	mongoWant(t, mongoRun(t, r35fUnwrappedYAML, r35fIncrementalWindow(`,"__snapshot":"incremental"`), "7"), want)
}
