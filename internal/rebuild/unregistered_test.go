package rebuild

import (
	"context"
	"testing"
	"time"
)

// TestTargetsOfKilledRebuildAreDroppedFirst: a rebuild killed after
// creating its generation's table and before registering it left the
// table, made with the configuration of that day. The next rebuild takes
// the same number and starts from a table of its own, not the leftover.
func TestTargetsOfKilledRebuildAreDroppedFirst(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	source := f.seed(d, 1, 20)
	ctx := context.Background()
	// What an older configuration's rebuild created, never registered.
	if _, err := f.pool.Exec(ctx, `CREATE TABLE item_view__g2 (id bigint PRIMARY KEY, legacy int NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, f.openEnv(), Options{View: "item_view", Keep: time.Hour})
	if err != nil || res.Generation != 2 {
		t.Fatalf("rebuild: generation %d, %v; want generation 2 built", res.Generation, err)
	}
	var legacy bool
	if err := f.pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name = 'item_view__g2' AND column_name = 'legacy')`).Scan(&legacy); err != nil {
		t.Fatal(err)
	}
	if legacy {
		t.Error("generation 2 is the leftover table, with its legacy column")
	}
	f.wantDocs(source)
}
