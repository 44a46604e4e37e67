package rebuild

import (
	"context"
	"testing"
	"time"
)

// TestLostTableRepairedByRebuild: a view table dropped behind projector's
// back while the daemons were stopped. The daemon starts all the same
// (the table is not made again, empty, behind the readers), and a rebuild
// of the view's PostgreSQL store serves every document again; the
// daemon's writes go on into the new generation.
func TestLostTableRepairedByRebuild(t *testing.T) {
	ctx := context.Background()
	f := newFixtureYAML(t, twoViewsYAML, "", "")
	d := f.startDaemon()
	source := f.seed(d, 1, 20)
	d.stop()
	if _, err := f.pool.Exec(ctx, `DROP TABLE item_view2__g1 CASCADE`); err != nil {
		t.Fatal(err)
	}
	d = f.startDaemon()
	defer d.stop()
	if f.tableExists("item_view2__g1") {
		t.Fatal("the start made the lost table again")
	}
	if _, err := Run(ctx, f.openEnv(), Options{View: "item_view2", Stores: []string{"postgres"}, Keep: 0}); err != nil {
		t.Fatalf("rebuild item_view2 --sinks postgres: %v", err)
	}
	if got := f.readerRowsOf(ctx, "item_view2"); len(got) != len(source) {
		t.Fatalf("after the rebuild readers of item_view2 see %d of %d documents", len(got), len(source))
	}
	env := f.openEnv()
	snap, err := env.Registry.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the daemon to apply the swap", 10*time.Second, func() bool { return d.watcher.Applied() >= snap.Version })
	d.lsn = 1 << 40 // past the first daemon's changes
	if err := d.apply(ctx, map[int64]*item{3: {Name: "after", Qty: 33}}); err != nil {
		t.Fatal(err)
	}
	if got := f.readerRowsOf(ctx, "item_view2")[3]; got.Name != "after" {
		t.Errorf("a change after the rebuild: item_view2 document 3 is %+v", got)
	}
}
