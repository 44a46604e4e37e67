package projector

import (
	"fmt"
	"testing"
	"time"
)

// TestR38aRevisionCollectionStarvedByOverlappingBatches: the collector of
// deleted documents' revisions takes the view's floor row FOR NO KEY
// UPDATE, and each batch that assigns revisions takes it FOR SHARE until it
// commits (revisions.go). PostgreSQL does not queue a FOR SHARE request
// behind a waiting FOR NO KEY UPDATE: a share lock is granted at once while
// only share lockers hold the row. So as soon as batches overlap (an
// instance's batch and the recompute of the documents it left for after it,
// a second instance, a rebuild's fill, a refresh), each new one joins the
// lock before the last one leaves and the floor is never free. The
// collector's `SET LOCAL lock_timeout = '5s'` does not bound this: it
// limits each wait for one locking transaction, and each of these lasts
// milliseconds. The collection waits as long as the load lasts — collecting
// nothing, and holding up the purge of the sinks' tombstones that
// collectAll runs after it — against the comment "Waiting for the batches
// under way is bounded" and the README ("Nothing a delete leaves grows
// without bound").
func TestR38aRevisionCollectionStarvedByOverlappingBatches(t *testing.T) {
	st, pool := revsFixture(t)
	ctx := t.Context()
	prev, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bumpIn(ctx, st, prev, "b0"); err != nil {
		t.Fatal(err)
	}
	type result struct {
		n   int64
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := st.collectRevisions(ctx, "v", 7*24*time.Hour, 100)
		done <- result{n, err}
	}()
	// The collection waits for the batch under way when it began.
	waitForLockWait(t, pool, "FOR NO KEY UPDATE")
	// Short batches, each starting before the one before it commits, for
	// longer than the collector's lock_timeout (5 s).
	var got result
	batches := 1
	var longest time.Duration
	started := time.Now()
	bound := time.After(8 * time.Second)
	returned := false
	for relay := true; relay; {
		select {
		case got = <-done:
			relay, returned = false, true
			continue
		case <-bound:
			relay = false
			continue
		default:
		}
		began := time.Now()
		// The next batch asks for its revisions before the one before it
		// commits; that commit does not wait for them (beginBatch), as
		// independent batches' do not.
		next, bumped := beginBatch(t, st, pool, fmt.Sprintf("b%d", batches))
		if err := prev.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if err := <-bumped; err != nil {
			t.Fatal(err)
		}
		longest = max(longest, time.Since(began))
		prev = next
		batches++
	}
	relayed := time.Since(started)
	if err := prev.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if !returned {
		got = <-done // the load stopped: the floor is free at last
		t.Errorf("the collection was still waiting for the floor after %v beside %d batches of at most %v each "+
			"(its lock_timeout of 5 s bounds each wait for one transaction, not the wait): under a steady load it never ends, "+
			"and the sink tombstones' purge, which runs after it, never starts",
			relayed.Round(time.Millisecond), batches, longest.Round(time.Millisecond))
	}
	var left int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM projector.revs WHERE view = 'v' AND doc_id = 'gone'`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if returned && (got.err != nil || got.n != 1 || left != 0) {
		t.Errorf("collection beside %d short batches: collected %d (err %v), gone's revision rows left %d; "+
			"want it collected once the batch under way at its start committed", batches, got.n, got.err, left)
	}
}
