package elasticsearch

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/projectorhq/projector/sinks"
)

// TestR36BPurgeOneBrokenIndexStopsEveryOtherView: PurgeTombstones sweeps
// the views one after the other and returns at the first view whose index
// fails (purge.go PurgeTombstones: "The first view that fails stops the
// sweep"). An index an operator closed answers every search with 400
// index_closed_exception (and one whose primaries are unassigned with 503
// until the retries run out), for as long as it stays so: meanwhile the
// tombstones of every view after it in the file are never purged, every
// round, and grow without bound — README (Consistency): "Nothing a delete
// leaves grows without bound", and the README's own rule for closed or
// read-only indices is that they are the cluster's state, retried until
// they pass, not a reason to stop the others. One view's index should not
// hold back the housekeeping of the other views: sweep them all and
// report the failures joined.
func TestR36BPurgeOneBrokenIndexStopsEveryOtherView(t *testing.T) {
	b := fakeBackend(t)
	s := b.newSink(t, nil,
		View{Name: "a", Fields: itemFields},
		View{Name: "b", Fields: itemFields})
	at := t0
	s.now = func() time.Time { return at }
	ctx := context.Background()
	del := func(view string) sinks.Doc {
		return sinks.Doc{View: view, ID: "1", Key: map[string]any{"id": json.Number("1")}, Rev: 2, Deleted: true}
	}
	if err := s.Write(ctx, []sinks.Doc{del("a"), del("b")}); err != nil {
		t.Fatal(err)
	}
	for _, ix := range []string{b.prefix + "a-g1", b.prefix + "b-g1"} {
		if err := s.Refresh(ctx, ix); err != nil {
			t.Fatal(err)
		}
	}
	// View a's index is closed: its search is answered 400
	// index_closed_exception, as Elasticsearch answers a search of a
	// closed index (the fake cannot close one, so the answer is injected).
	b.fake.FailNextSearch(1, 400, "index_closed_exception")
	at = t0.Add(48 * time.Hour)
	n, err := s.PurgeTombstones(ctx, time.Hour)
	t.Logf("PurgeTombstones: %d purged, err %v", n, err)
	if got := inIndex(t, b, b.prefix+"b-g1", "1"); got != "absent" {
		t.Fatalf("view b's tombstone, two days past the retention: %s after the sweep, want purged: view a's closed index stopped the sweep of every view after it", got)
	}
}
