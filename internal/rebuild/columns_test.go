package rebuild

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
)

// colorYAML is items with a color, which the view reads when fields say.
const colorYAML = `
version: 1
kafka: { brokers: "localhost:1", group: items }
stores:
  postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }
sources:
  items:
    topic: shop.public.items
    key: id
    columns: { id: bigint, name: text, qty: bigint, color: text }
views:
  item_view:
    from: items
    fields: { %FIELDS% }
    sinks:
      postgres: { table: item_view }
      redis: { key: "${PREFIX}item:{id}" }
`

// withFields compiles colorYAML with the view's fields, on the fixture's
// stores, as an operator editing the file before a restart.
func (f *fixture) withFields(fields string) {
	f.t.Helper()
	env := map[string]string{"PG": f.cfg.Stores.Postgres.URL, "REDIS": f.cfg.Stores.Redis.URL, "PREFIX": f.prefix}
	yaml := strings.Replace(colorYAML, "%FIELDS%", fields, 1)
	cfg, err := config.Parse("test.yaml", []byte(yaml), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		f.t.Fatalf("config:\n%v", err)
	}
	if f.plan, err = projections.Compile(cfg); err != nil {
		f.t.Fatalf("plan:\n%v", err)
	}
	f.cfg = cfg
}

// TestRebuildStateLacksColumn: a view starts to read a column (color) no
// view read before, so the slim state never kept it in the rows written
// before. A rebuild from the state would verify and serve every document
// with color null; it refuses, naming the column. A rebuild --from source
// reads the rows again, with their colors, and a rebuild from the state
// works again after it.
func TestRebuildStateLacksColumn(t *testing.T) {
	ctx := context.Background()
	f := newFixtureYAML(t, strings.Replace(colorYAML, "%FIELDS%", "id: id, name: name, qty: qty", 1), "", "")
	srcPool, srcURL := testenv.Postgres(t)
	if _, err := srcPool.Exec(ctx, `CREATE TABLE public.items (id bigint PRIMARY KEY, name text, qty bigint, color text);
		INSERT INTO public.items SELECT g, 'item-' || g, g, 'red' FROM generate_series(1, 30) g`); err != nil {
		t.Fatal(err)
	}
	d := f.startDaemon()
	f.seed(d, 1, 30)
	d.stop()

	// The daemons run the new file (run adds the column to the served
	// table), then the operator rebuilds.
	f.withFields("id: id, name: name, qty: qty, color: color")
	d = f.startDaemon()
	defer d.stop()
	env := f.openEnv()
	_, err := Run(ctx, env, Options{View: "item_view", Keep: 0})
	if !errors.Is(err, ErrIncompleteState) || !strings.Contains(err.Error(), "items.color") {
		t.Fatalf("rebuild from the state: %v, want ErrIncompleteState naming items.color", err)
	}
	if _, err := Run(ctx, env, Options{View: "item_view", From: "source", Keep: 0, SourceURLs: map[string]string{"items": srcURL}}); err != nil {
		t.Fatalf("rebuild --from source: %v", err)
	}
	var missing int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM item_view WHERE color IS DISTINCT FROM 'red'`).Scan(&missing); err != nil {
		t.Fatal(err)
	}
	if missing != 0 {
		t.Errorf("after rebuild --from source, %d of 30 documents lack their color", missing)
	}
	if _, err := Run(ctx, f.openEnv(), Options{View: "item_view", Keep: 0}); err != nil {
		t.Errorf("rebuild from the state after the re-read: %v", err)
	}
}
