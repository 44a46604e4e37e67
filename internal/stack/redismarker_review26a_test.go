package stack

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
)

// TestR26aRedisLossAtUpgradeNoticed: a view deployed by the previous
// version (whose registry has no redis_marked column: that version set
// the marker as soon as Redis answered, and looked for it at every start).
// Redis loses its data (restarted without persistence) while the daemons
// are upgraded, say in the same maintenance window. The previous version
// would have reported the loss at this start; the upgraded one finds the
// new column false for every view deployed before it, sets the marker
// again instead of looking for it, and so hides the loss for good: the
// documents no change touches stay missing and nothing says so.
func TestR26aRedisLossAtUpgradeNoticed(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	rdb, prefix := testenv.Redis(t)
	vars := map[string]string{"PG": pgURL, "REDIS": testenv.RedisURL(t), "PREFIX": prefix}
	cfg, err := config.Parse("wire.yaml", []byte(`
version: 1
kafka: { brokers: "127.0.0.1:9" }
stores:
  postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }
sources:
  items: { topic: t.public.items, key: id, columns: { id: bigint, name: text } }
views:
  item_view:
    from: items
    fields: { id: id, name: name }
    sinks:
      redis: { key: "${PREFIX}item:{id}" }
`), func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ping := func(st *Stack) error {
		t.Helper()
		i := slices.IndexFunc(st.probes, func(p probe) bool { return slices.Contains(p.components, "redis") })
		return st.probes[i].ping(ctx)
	}
	st, err := Wire(ctx, cfg, plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Engine.ProcessChanges(ctx, "items", []debezium.Change{{Kind: debezium.KindChange, Op: debezium.OpCreate,
		Position: debezium.Position{Hi: 10}, Key: map[string]any{"id": json.Number("1")}, After: map[string]any{"id": json.Number("1"), "name": "one"}}}); err != nil {
		t.Fatal(err)
	}
	if err := ping(st); err != nil {
		t.Fatalf("a Redis holding the view: %v", err)
	}
	marker := MarkerKey(st.Pool.Config().ConnConfig.Database, cfg.Stores.Postgres.Schema, "item_view")
	st.Close()
	if n, err := rdb.Exists(ctx, marker).Result(); err != nil || n != 1 {
		t.Fatalf("marker %s after the first start: %d, %v", marker, n, err)
	}

	// The registry as the previous version left it: no redis_marked
	// column (the marker was set all the same, as above).
	if _, err := pool.Exec(ctx, `ALTER TABLE projector.definitions DROP COLUMN redis_marked`); err != nil {
		t.Fatal(err)
	}
	// Redis flushed: the documents and the marker are gone.
	if err := rdb.Del(ctx, prefix+"item:1", marker).Err(); err != nil {
		t.Fatal(err)
	}
	// The upgraded daemon starts.
	st, err = Wire(ctx, cfg, plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if p := st.Engine.Problems(); !strings.Contains(p["redis"], "lost the documents of item_view") {
		t.Errorf("readiness at the upgraded start after Redis lost its data: %v, want redis naming the loss (as the previous version said)", p)
	}
	if err := ping(st); err == nil || !strings.Contains(err.Error(), "lost the documents of item_view") {
		t.Errorf("the Redis probe after Redis lost its data at the upgrade: %v, want the loss named", err)
	}
}
