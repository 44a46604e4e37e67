package rebuild

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestRebuildRefusesWhileInstancesRunAnotherDefinition: a running daemon
// writes live changes into the generation being built with its own
// definition: after a field is removed, into a table without that column
// (its writes fail, and it stops consuming every view); after a field is
// changed, documents the verification then finds wrong. The rebuild
// refuses while such an instance runs, naming it, and goes ahead once the
// daemons run this file (here: are stopped).
func TestRebuildRefusesWhileInstancesRunAnotherDefinition(t *testing.T) {
	ctx := context.Background()
	f := newFixtureYAML(t, strings.Replace(colorYAML, "%FIELDS%", "id: id, name: name, qty: qty", 1), "", "")
	d := f.startDaemon()
	f.seed(d, 1, 10)

	f.withFields("id: id, name: name")
	_, err := Run(ctx, f.openEnv(), Options{View: "item_view", Keep: 0})
	if !errors.Is(err, ErrOtherDefinition) || !strings.Contains(err.Error(), "instance") {
		t.Fatalf("rebuild while a daemon runs the previous definition: %v, want ErrOtherDefinition naming the instance", err)
	}
	if f.tableExists("item_view__g2") {
		t.Errorf("the refused rebuild left its table behind")
	}
	d.stop()
	if _, err := Run(ctx, f.openEnv(), Options{View: "item_view", Keep: 0}); err != nil {
		t.Fatalf("rebuild once no daemon runs the previous definition: %v", err)
	}
	var n int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM item_view`).Scan(&n); err != nil || n != 10 {
		t.Errorf("after the rebuild: %d documents (%v), want 10", n, err)
	}
}

// TestRebuildRefusesWhileInstancesWriteAnotherTable: a daemon still on the
// view's old PostgreSQL table: name would write the new generation into a
// table of its old name that no one creates, and fail for good once the
// rebuild swaps. The rebuild refuses while it runs.
func TestRebuildRefusesWhileInstancesWriteAnotherTable(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	d := f.startDaemon()
	f.seed(d, 1, 10)
	f.edit(itemsYAML, "postgres: { table: item_view }", "postgres: { table: item_list }")
	_, err := Run(ctx, f.openEnv(), Options{View: "item_view", Keep: 0})
	if !errors.Is(err, ErrOtherDefinition) || !strings.Contains(err.Error(), "instance") {
		t.Fatalf("rebuild while a daemon writes the old table name: %v, want ErrOtherDefinition naming the instance", err)
	}
	d.stop()
	if _, err := Run(ctx, f.openEnv(), Options{View: "item_view", Keep: 0}); err != nil {
		t.Fatalf("rebuild once no daemon writes the old name: %v", err)
	}
	var n int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM item_list`).Scan(&n); err != nil || n != 10 {
		t.Errorf("after the rebuild: %d documents in item_list (%v), want 10", n, err)
	}
}
