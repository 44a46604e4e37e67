package rebuild

// Session 17: the rows a rebuild read are no longer kept in memory to tell
// them from the rows gone. --from source tells them by their state
// position (every row read holds the snapshot's or a newer one), which the
// stream, going on meanwhile, must not mislead; --from signal keeps the
// keys its window carried in the query PostgreSQL, since there a read can
// leave its row's state as it was.

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/internal/testenv"
)

// TestS17SourceKeepsReadRowsWhileTheStreamLags: a rebuild --from source
// reads items 1..120 (--workers 1, --chunk 50) while a daemon that lags
// applies changes older than the snapshot: once the first page (1..50) is
// applied, an old update of item 5 (read already: the state refuses it,
// its row keeps the snapshot's position), an old update of item 70 (not
// read yet: the snapshot's read replaces it) and the late create of item
// 900, which the source deleted before the snapshot. Only 900 is deleted.
func TestS17SourceKeepsReadRowsWhileTheStreamLags(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	ctx := context.Background()
	srcPool, srcURL := testenv.Postgres(t)
	if _, err := srcPool.Exec(ctx, `CREATE TABLE public.items (id bigint PRIMARY KEY, name text, qty bigint);
		INSERT INTO public.items SELECT g, 'item-' || g, g FROM generate_series(1, 120) g`); err != nil {
		t.Fatal(err)
	}
	source := f.seed(d, 1, 120)
	var hookErr error
	hook := &phaseHook{phase: "source", fn: func() {
		hookErr = d.apply(ctx, map[int64]*item{5: {Name: "an old change", Qty: 1}, 70: {Name: "an old change", Qty: 1},
			900: {Name: "created and deleted before the snapshot", Qty: 1}})
	}}
	res, err := Run(ctx, f.openEnv(), Options{View: "item_view", From: "source", Keep: 0, Chunk: 50, Workers: 1, Progress: hook,
		SourceURLs: map[string]string{"items": srcURL}})
	if err != nil {
		t.Fatalf("rebuild --from source: %v", err)
	}
	if hookErr != nil || !hook.done {
		t.Fatalf("the lagging daemon: ran %v, %v", hook.done, hookErr)
	}
	if res.SourceRows != 120 || res.SourceDeleted != 1 {
		t.Errorf("read %d source rows and deleted %d state rows, want 120 and 1 (900)", res.SourceRows, res.SourceDeleted)
	}
	f.wantDocs(source)
}

// TestS17SignalKeepsRowsItsReadsCannotReplace: a rebuild --from source
// wrote every item's state at the source database's WAL position, beyond
// the last change Debezium streamed. A rebuild --from signal follows: the
// connector's reads carry the stream's position, older, so the state
// refuses every one and writes nothing; yet they carry their rows, which
// the source has. Only item 3, gone from the source, is deleted.
func TestS17SignalKeepsRowsItsReadsCannotReplace(t *testing.T) {
	kc := signalCluster(t)
	f := newFixtureWith(t, strings.Join(kc.ListenAddrs(), ","), "")
	d := f.startDaemon()
	ctx := context.Background()
	srcPool, srcURL := testenv.Postgres(t)
	if _, err := srcPool.Exec(ctx, `CREATE TABLE public.items (id bigint PRIMARY KEY, name text, qty bigint);
		INSERT INTO public.items SELECT g, 'item-' || g, g FROM generate_series(1, 50) g`); err != nil {
		t.Fatal(err)
	}
	source := f.seed(d, 1, 50)
	if _, err := Run(ctx, f.openEnv(), Options{View: "item_view", From: "source", Keep: 0,
		SourceURLs: map[string]string{"items": srcURL}}); err != nil {
		t.Fatalf("rebuild --from source: %v", err)
	}
	var older bool
	if err := f.pool.QueryRow(ctx, `SELECT bool_and(pos_hi > $1) FROM projector.state_items`, d.position()+1000).Scan(&older); err != nil || !older {
		t.Fatalf("the state's positions are not past the stream's (%v): the reads would not be refused", err)
	}
	delete(source, 3) // gone from the source without a delete event
	newFakeConnector(t, kc.ListenAddrs(), "shop", "public.items", &itemsTable{d: d, rows: maps.Clone(source), chunk: 20}, false)
	res, err := Run(ctx, f.openEnv(), Options{View: "item_view", From: registry.SourceSignal, Keep: 0, ReplayIdle: 2 * time.Second})
	if err != nil {
		t.Fatalf("rebuild --from signal: %v", err)
	}
	if res.Replayed != 49 || res.SourceDeleted != 1 {
		t.Errorf("replayed %d records and deleted %d state rows, want 49 and 1 (item 3)", res.Replayed, res.SourceDeleted)
	}
	f.wantDocs(source)
}
