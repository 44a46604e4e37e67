package rebuild

// Review 30m (memory that grows with data): `rebuild --from source` lists
// the live state rows the source table no longer has and holds them all,
// each as a delete with its key maps, before handing them to the engine a
// chunk at a time (deleteStateRows, source.go: `gone = append(gone, ...)`
// over the whole state table, then slices.Chunk(gone, Chunk)); and the keys
// of every row read from the source are kept in one map (`seen`, in
// snapshotSource) for the whole read. A source table emptied or cut down
// (an archive job, a restore of an older backup) makes the rebuild hold
// the whole state table at once, though it works --chunk rows at a time
// everywhere else.

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/testenv"
)

// r30mPeak samples the heap every millisecond while fn runs and returns
// its peak above the heap before, in MB.
func r30mPeak(fn func()) float64 {
	read := func() uint64 {
		s := []rtmetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		rtmetrics.Read(s)
		return s[0].Value.Uint64()
	}
	// Little garbage left between collections: what the peak measures is
	// what the rebuild holds, not the collector's slack over the
	// process's live heap (the fixture's rows).
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	runtime.GC()
	base := read()
	var peak atomic.Uint64
	peak.Store(base)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if h := read(); h > peak.Load() {
				peak.Store(h)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	fn()
	close(stop)
	<-done
	if h := read(); h > peak.Load() {
		peak.Store(h)
	}
	return float64(peak.Load()-base) / 1e6
}

// TestR30mSourceGoneBoundedHeap: the source table is empty; the state
// holds 2,000 items, then (a second rebuild) 40,000 other ones. Each
// rebuild --from source (--chunk 1000) deletes them all through the
// engine, 1,000 at a time. Its peak heap should not depend on how many
// rows are deleted beyond a chunk's worth (about 1 MB here); it grows with
// them, as every delete is listed in memory first.
func TestR30mSourceGoneBoundedHeap(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	ctx := context.Background()
	srcPool, srcURL := testenv.Postgres(t)
	if _, err := srcPool.Exec(ctx, `CREATE TABLE public.items (id bigint PRIMARY KEY, name text, qty bigint)`); err != nil {
		t.Fatal(err)
	}
	seed := func(from, to int64) {
		for lo := from; lo <= to; lo += 10_000 {
			batch := map[int64]*item{}
			for id := lo; id < lo+10_000 && id <= to; id++ {
				batch[id] = &item{Name: fmt.Sprintf("item-%d-with-a-longer-name-to-weigh-like-a-real-row", id), Qty: id}
			}
			if err := d.apply(ctx, batch); err != nil {
				t.Fatal(err)
			}
		}
	}
	rebuild := func(want int64) float64 {
		env := f.openEnv()
		var res Result
		var err error
		mb := r30mPeak(func() {
			res, err = Run(ctx, env, Options{View: "item_view", From: "source", Keep: 0, Chunk: 1000,
				SourceURLs: map[string]string{"items": srcURL}})
		})
		if err != nil {
			t.Fatalf("rebuild --from source: %v", err)
		}
		if res.SourceDeleted != want {
			t.Errorf("deleted %d state rows, want %d", res.SourceDeleted, want)
		}
		t.Logf("rebuild --from source deleting %d state rows: peak heap +%.1f MB", want, mb)
		return mb
	}
	seed(1, 2_000)
	small := rebuild(2_000)
	seed(100_001, 140_000)
	big := rebuild(40_000)
	if extra := big - small; extra > 16 {
		t.Errorf("rebuild --from source deleting 40,000 state rows 1,000 at a time: peak heap +%.1f MB, +%.1f MB over deleting 2,000 (> 16 MB; a chunk of 1,000 deletes is about 1 MB): "+
			"every state row the source lacks is listed in memory before the first chunk is deleted", big, extra)
	}
}
