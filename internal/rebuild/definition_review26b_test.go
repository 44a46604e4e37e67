package rebuild

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestR26bRebuildRefusesWhileInstancesWriteOtherPostgresFields: README
// (Rebuild): "a rebuild refuses to start while one computes the view's
// documents by another definition than the rebuild's file (its fields,
// `where`, `group_by`, `id` or PostgreSQL `table:` …); another Redis key
// or Elasticsearch index alone does not stop it". The PostgreSQL sink's
// own `fields:` (the columns it writes) is compared nowhere:
// DocumentsFingerprint drops every sink and checkInstancesDefinition
// (definition.go) compares only PostgresTable. A daemon still writing qty
// to PostgreSQL is not refused by a rebuild whose file drops qty from the
// sink, and once the generation it built (without the column) is swapped
// in, every write of that daemon fails ("column qty does not exist"),
// retried for ever: it stops consuming every view, the very outcome the
// check exists for (TestRebuildRefusesWhileInstancesRunAnotherDefinition).
func TestR26bRebuildRefusesWhileInstancesWriteOtherPostgresFields(t *testing.T) {
	ctx := context.Background()
	yaml := strings.Replace(itemsYAML, "postgres: { table: item_view }", "postgres: { table: item_view, fields: [id, name, qty] }", 1)
	f := newFixtureYAML(t, yaml, "", "")
	d := f.startDaemon()
	f.seed(d, 1, 10)

	f.edit(yaml, "fields: [id, name, qty]", "fields: [id, name]")
	res, err := Run(ctx, f.openEnv(), Options{View: "item_view", Keep: 0})
	if errors.Is(err, ErrOtherDefinition) {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	werr := d.apply(wctx, map[int64]*item{3: {Name: "changed after the swap", Qty: 33}})
	t.Errorf("rebuild while a daemon writes qty to PostgreSQL, with a file whose sink drops it: generation %d, %v; want ErrOtherDefinition naming the instance\n"+
		"the daemon's next write: %v", res.Generation, err, werr)
}
