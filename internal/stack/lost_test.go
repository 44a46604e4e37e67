package stack

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
)

// TestPostgresTableLostStaysLost: a view table dropped with its reader view
// makes the postgres probe fail, naming the view and the rebuild, while the
// daemon runs and after a restart, which does not create the table again;
// "state" stays ready. A view never deployed gets its table at start.
func TestPostgresTableLostStaysLost(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	cfg, err := config.Parse("wire.yaml", []byte(`
version: 1
kafka: { brokers: "127.0.0.1:9" }
stores:
  postgres: { url: "${PG}" }
sources:
  items: { topic: t.public.items, key: id, columns: { id: bigint, name: text } }
views:
  item_view:
    from: items
    fields: { id: id, name: name }
    sinks:
      postgres: { table: lost_items }
`), func(k string) (string, bool) { return map[string]string{"PG": pgURL}[k], true })
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ping := func(st *Stack, component string) error {
		t.Helper()
		for _, p := range st.probes {
			if slices.Contains(p.components, component) {
				return p.ping(ctx)
			}
		}
		t.Fatalf("no probe for %s", component)
		return nil
	}
	exists := func() bool {
		var ok bool
		if err := pool.QueryRow(ctx, `SELECT to_regclass('lost_items__g1') IS NOT NULL`).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	st, err := Wire(ctx, cfg, plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !exists() || ping(st, "postgres") != nil {
		t.Fatalf("first deployment: table exists %v, probe %v", exists(), ping(st, "postgres"))
	}
	if _, err := pool.Exec(ctx, `DROP TABLE lost_items__g1 CASCADE`); err != nil {
		t.Fatal(err)
	}
	err = ping(st, "postgres")
	if err == nil || !strings.Contains(err.Error(), "view item_view") || !strings.Contains(err.Error(), "--sinks postgres") {
		t.Errorf("probe after the table was dropped: %v", err)
	}
	st.Close()

	st, err = Wire(ctx, cfg, plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if exists() {
		t.Error("a restart created the lost table again")
	}
	if err := ping(st, "postgres"); err == nil {
		t.Error("postgres is ready after a restart with the table lost")
	}
	if err := ping(st, "state"); err != nil {
		t.Errorf("state: %v", err)
	}
}
