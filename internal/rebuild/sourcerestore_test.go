package rebuild

import (
	"context"
	"errors"
	"testing"

	"github.com/projectorhq/projector/debezium"
)

// TestRebuildFromSourceResetPositions: the source database went back (see
// TestR20bRebuildFromSourceAfterSourceRestore): a rebuild --from source
// refuses, naming the positions, and with ResetPositions takes the source
// as it is now: the lost window's update and row, and its truncate, are
// gone, and a change of the new timeline applies afterwards.
func TestRebuildFromSourceResetPositions(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	ctx := context.Background()
	srcPool, srcURL, restored := r20bRestoredSource(t, ctx)
	d.lsn = restored + 1<<30
	f.seed(d, 1, 20)
	d.lsn += 8
	if err := d.st.Engine.ProcessChanges(ctx, "items", []debezium.Change{{Kind: debezium.KindChange, Op: debezium.OpTruncate,
		Position: debezium.Position{Hi: d.lsn}}}); err != nil {
		t.Fatal(err)
	}
	if err := d.apply(ctx, map[int64]*item{5: {Name: "renamed in the lost window", Qty: 50}, 500: {Name: "created in the lost window", Qty: 1}}); err != nil {
		t.Fatal(err)
	}

	opts := Options{View: "item_view", From: "source", Keep: 0, Chunk: 50, SourceURLs: map[string]string{"items": srcURL}}
	if _, err := Run(ctx, f.openEnv(), opts); !errors.Is(err, ErrPositionsAhead) {
		t.Fatalf("rebuild --from source of a source gone back: %v, want ErrPositionsAhead", err)
	}
	opts.ResetPositions = true
	if _, err := Run(ctx, f.openEnv(), opts); err != nil {
		t.Fatalf("rebuild --from source --reset-positions: %v", err)
	}
	want := r20bWantSource()
	f.wantDocs(want)

	// The new timeline's changes apply from now on.
	var lsn int64
	if err := srcPool.QueryRow(ctx, `SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint`).Scan(&lsn); err != nil {
		t.Fatal(err)
	}
	d.lsn = lsn + 8
	if err := d.apply(ctx, map[int64]*item{7: {Name: "after the restore", Qty: 70}}); err != nil {
		t.Fatal(err)
	}
	want[7] = &item{Name: "after the restore", Qty: 70}
	f.wantDocs(want)
}
