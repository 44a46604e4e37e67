package rebuild

import (
	"context"
	"testing"
	"time"
)

// r30dHashIndexYAML is the items view stored in Redis as a hash with an
// index of its documents by qty.
const r30dHashIndexYAML = `
version: 1
kafka: { brokers: "localhost:1", group: items }
stores:
  postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }
sources:
  items:
    topic: shop.public.items
    key: id
    columns: { id: bigint, name: text, qty: bigint }
views:
  item_view:
    from: items
    fields: { id: id, name: name, qty: qty }
    sinks:
      postgres: { table: item_view }
      redis:
        key: "${PREFIX}item:{id}"
        format: hash
        indexes: [ { key: "${PREFIX}items:by_qty", score: qty } ]
`

// TestR30dRebuildHashViewWithIndex: README "Rebuild": a rebuild verifies
// the new generation (a recomputed sample, or every document with
// --verify full, compared "in every store (Redis values as the sink
// writes them)") and swaps. A view kept in Redis as a hash with an index,
// untouched since the daemon wrote it, must rebuild; the verification
// must not take the index entries the sink passes its script for hash
// fields.
func TestR30dRebuildHashViewWithIndex(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f := newFixtureYAML(t, r30dHashIndexYAML, "", "")
	t.Cleanup(func() { unlinkMatching(f.rdb, "projector:ix:{"+f.prefix+"*") })
	d := f.startDaemon()
	f.seed(d, 1, 3)
	d.stop()
	if n, err := f.rdb.ZCard(ctx, f.prefix+"items:by_qty").Result(); err != nil || n != 3 {
		t.Fatalf("index holds %d members (%v), want 3", n, err)
	}
	if _, err := Run(ctx, f.openEnv(), Options{View: "item_view", Stores: []string{"redis"}, Keep: 0, VerifyTimeout: 500 * time.Millisecond}); err != nil {
		t.Fatalf("rebuild --sinks redis (default verification: a recomputed sample) of a hash view with an index: %v", err)
	}
}
