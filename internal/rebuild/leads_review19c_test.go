package rebuild

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/internal/rebuild/registry"
)

// TestR19cRenamedTableRetiredGenerationIsDropped: the view's PostgreSQL
// `table:` changes between generations (validate: "needs a rebuild"). The
// daemons are restarted with the new file, then the view is rebuilt with
// --keep 0. The generation the rebuild replaced must be dropped at the swap
// (and by the daemon's periodic drop), not fail forever.
func TestR19cRenamedTableRetiredGenerationIsDropped(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	d := f.startDaemon()
	f.seed(d, 1, 20)
	if _, err := Run(ctx, f.openEnv(), Options{View: "item_view", Keep: 0}); err != nil {
		t.Fatalf("first rebuild: %v", err)
	}
	d.stop()

	f.edit(itemsYAML, "postgres: { table: item_view }", "postgres: { table: item_list }")
	d = f.startDaemon()
	env := f.openEnv()
	res, err := Run(ctx, env, Options{View: "item_view", Keep: 0})
	if err != nil {
		t.Fatalf("rebuild after the table changed: %v", err)
	}
	t.Logf("rebuild: generation %d replaced %v dropped %v", res.Generation, res.Replaced, res.Dropped)
	snap, _ := env.Registry.Snapshot(ctx)
	for _, g := range snap.Of("item_view") {
		t.Logf("generation %d %s targets %v dropped %v", g.Number, g.State, g.Targets, g.Dropped)
	}
	waitFor(t, "the daemon to apply the swap", 10*time.Second, func() bool { return d.watcher.Applied() >= snap.Version })
	err = env.dropExpired(ctx, "", time.Now())
	if !res.Dropped || err != nil || f.tableExists("item_view__g2") {
		t.Errorf("generation 2, replaced with --keep 0, is not dropped: swap dropped=%v, periodic drop: %v, item_view__g2 exists: %v",
			res.Dropped, err, f.tableExists("item_view__g2"))
	}
	if f.tableExists("item_list__g2") {
		t.Errorf("item_list__g2 (created by the restarted daemon for the served generation 2) is left behind, recorded nowhere")
	}
}

// TestR19cRebuildRefusesSwapWhileAnotherDefinitionRuns: a rebuild checks
// the live instances' definitions only when it starts. A daemon started
// mid-rebuild with a field added (it ALTERs the served table and the
// reader view to add the column) writes live changes into the generation
// being built, whose table lacks that column. The swap must not publish
// that generation while the instance runs: readers would lose the column
// the daemon added, and the daemon's every write would fail from then on
// (it stops consuming). Like the check at the start, it must refuse,
// naming the instance, and leave readers on the served generation.
func TestR19cRebuildRefusesSwapWhileAnotherDefinitionRuns(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	d := f.startDaemon()
	f.seed(d, 1, 20)
	env := f.openEnv()
	newer := *f
	newer.edit(itemsYAML, `fields: { id: id, name: name, qty: qty }`,
		`fields: { id: id, name: name, qty: qty, double: { expr: "qty * 2", type: bigint } }`)
	startNewer := func(context.Context, registry.Generation) error {
		newer.startDaemon() // stopped by the test's cleanup
		return nil
	}
	_, err := Run(ctx, env, Options{View: "item_view", Keep: 0, afterFill: startNewer})
	if !errors.Is(err, ErrOtherDefinition) {
		t.Errorf("rebuild while a daemon started meanwhile runs another definition: err = %v, want ErrOtherDefinition naming the instance", err)
	}
	rows, qerr := f.pool.Query(ctx, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name = 'item_view' ORDER BY ordinal_position`)
	if qerr != nil {
		t.Fatal(qerr)
	}
	cols, qerr := pgx.CollectRows(rows, pgx.RowTo[string])
	if qerr != nil {
		t.Fatal(qerr)
	}
	if got := f.readerTable(); got != "item_view__g1" || !slices.Contains(cols, "double") {
		t.Errorf("readers select from %s with columns %v, want item_view__g1 with the column double the running daemon added", got, cols)
	}
}
