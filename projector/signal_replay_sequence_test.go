package projector_test

import (
	"context"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// TestSignalReplayWithSequenceKeepsNewerUpdate: during rebuild --from
// signal both the daemon and the rebuild apply the window's records to one
// state. With the SMT's add.fields naming sequence (as the README says),
// every change names its transaction's last committed LSN: the update
// streamed after an incremental snapshot's read, which its transaction
// wrote at a lower LSN before the read's window closed, is newer by
// position, so the rebuild's replay of the read after the daemon took the
// update is stale, and the source's row stays. (Without __sequence only
// arrival orders the two: README, Known limits.)
func TestSignalReplayWithSequenceKeepsNewerUpdate(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, r35fUnwrappedYAML, nil)
	store := &memSink{docs: map[string]sinks.Doc{}}
	daemon := newEngine(t, pool, plan, store, nil)
	rebuild := newEngine(t, pool, plan, store, nil)
	ctx := context.Background()
	window := []projector.Record{
		r35fOrder("old", `"__op":"c","__lsn":100,"__sequence":"[\"90\",\"100\"]"`),
		// The chunk's read, emitted at its window's close (LSN 400).
		r35fOrder("old", `"__op":"r","__lsn":400,"__snapshot":"incremental","__sequence":"[\"395\",\"400\"]"`),
		// Transaction T wrote the row at 380 and committed after the
		// window closed: the commit before it in the stream is the
		// watermark's, at 410.
		r35fOrder("new", `"__op":"u","__lsn":380,"__sequence":"[\"410\",\"380\"]"`),
	}
	for i, r := range window {
		r.Offset = int64(i)
		if dead, err := daemon.Process(ctx, []projector.Record{r}); err != nil || len(dead) > 0 {
			t.Fatalf("daemon: %v %v", err, dead)
		}
	}
	if got := canonical(t, store.docs["7"].Fields); got != `{"id":7,"status":"new"}` {
		t.Fatalf("after the daemon: %s, want the update", got)
	}
	read := window[1]
	read.Offset = 1
	if dead, err := rebuild.Process(ctx, []projector.Record{read}); err != nil || len(dead) > 0 {
		t.Fatalf("rebuild replay: %v %v", err, dead)
	}
	if got := canonical(t, store.docs["7"].Fields); got != `{"id":7,"status":"new"}` {
		t.Errorf("after the rebuild replayed the chunk's read: %s, want {\"id\":7,\"status\":\"new\"} (the source's row)", got)
	}
}
