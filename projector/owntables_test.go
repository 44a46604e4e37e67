package projector_test

import (
	"context"
	"testing"

	"github.com/projectorhq/projector/config"
	generations "github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/internal/testenv"
)

// TestOwnTablesListed: every table, view, index and sequence the
// migrations create in projector's schema is one config.IsOwnTable names
// (all share the schema's namespace), so that validate refuses a view
// table that would take its name. Indexes named with a '#' are left out:
// no view table's name can have one.
func TestOwnTablesListed(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, reviewHead+chunkYAML, nil)
	chunkEngine(t, plan, pool, newViewSink()) // migrates the state
	if err := generations.New(pool, "projector").Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(context.Background(), `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'projector' AND c.relkind IN ('r', 'v', 'm', 'p', 'f', 'i', 'I', 'S', 'c') AND position('#' in c.relname) = 0`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		n++
		if !config.IsOwnTable(name) {
			t.Errorf("the migrations create projector.%s, which config.IsOwnTable does not name", name)
		}
	}
	if err := rows.Err(); err != nil || n < len(config.OwnTables) {
		t.Errorf("%d relations found (%v), want at least the %d tables listed", n, err, len(config.OwnTables))
	}
}
