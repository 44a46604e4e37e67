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

// TestRedisLossNoticed: a Redis that comes back without its data took
// every document with it, and later writes landing said nothing: the
// documents no change touches stayed missing. The view's marker key is
// gone too, which the Redis probe reports, naming the view and the
// rebuild, at every start until a rebuild sets it again.
func TestRedisLossNoticed(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
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
	st.Close()

	// Redis flushed: the documents and the marker are gone.
	marker := MarkerKey(st.Pool.Config().ConnConfig.Database, cfg.Stores.Postgres.Schema, "item_view")
	if err := rdb.Del(ctx, prefix+"item:1", marker).Err(); err != nil {
		t.Fatal(err)
	}
	st, err = Wire(ctx, cfg, plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := ping(st); err == nil || !strings.Contains(err.Error(), "lost the documents of item_view") ||
		!strings.Contains(err.Error(), "rebuild") {
		t.Errorf("after Redis lost its data: the probe says %v", err)
	}
	if p := st.Engine.Problems(); !strings.Contains(p["redis"], "lost the documents") {
		t.Errorf("readiness at start: %v, want redis naming the loss", p)
	}
	// A rebuild of the view's Redis store sets the marker again.
	if err := rdb.Set(ctx, marker, "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := ping(st); err != nil {
		t.Errorf("after the repair: %v", err)
	}
}
