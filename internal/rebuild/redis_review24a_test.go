package rebuild

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
)

// r24aHashYAML is the items view stored in Redis as a slim hash (only
// name): an item whose name is null has every written field null.
const r24aHashYAML = `
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
      redis: { key: "${PREFIX}item:{id}", format: hash, fields: [name] }
`

// r24aRecord is a create of item id with a name that may be null.
func r24aRecord(d *daemon, id int64, name *string, qty int64) projector.Record {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lsn += 8
	d.offset++
	ev := map[string]any{
		"source": map[string]any{"version": "2.7.3.Final", "connector": "postgresql", "name": "shop",
			"ts_ms": 1790710562903, "snapshot": "false", "db": "shop", "schema": "public", "table": "items",
			"txId": d.lsn, "lsn": d.lsn},
		"transaction": nil, "ts_ms": 1790710563391, "op": "c", "before": nil,
		"after": map[string]any{"id": id, "name": name, "qty": qty},
	}
	b, _ := json.Marshal(ev)
	return projector.Record{Topic: "shop.public.items", Offset: d.offset, Key: fmt.Appendf(nil, `{"id":%d}`, id), Value: b}
}

// TestR24aRebuildRefusesHashDocWithoutKey: README, "A hash-format document
// whose every written field is null has no key (Redis holds no empty
// hash): a get reads it as missing". The daemon writes such a document
// that way, but the rebuild's verification wants a key for every live
// document and refuses the swap ("redis: key missing"), so a view holding
// one such document can never be rebuilt.
func TestR24aRebuildRefusesHashDocWithoutKey(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f := newFixtureYAML(t, r24aHashYAML, "", "")
	t.Cleanup(func() { unlinkMatching(f.rdb, "projector:ix:{"+f.prefix+"*") })
	d := f.startDaemon()
	name := "two"
	if err := d.process(ctx, []projector.Record{r24aRecord(d, 1, nil, 1), r24aRecord(d, 2, &name, 2)}); err != nil {
		t.Fatal(err)
	}
	if n, err := f.rdb.Exists(ctx, f.prefix+"item:1", f.prefix+"item:2").Result(); err != nil || n != 1 {
		t.Fatalf("keys after the live writes: %d (%v), want 1 (item 1 has no hash)", n, err)
	}
	d.stop()

	if _, err := Run(ctx, f.openEnv(), Options{View: "item_view", Stores: []string{"redis"}, Keep: 0, VerifyTimeout: 500 * time.Millisecond}); err != nil {
		t.Fatalf("rebuild --sinks redis of a hash view with a document whose written fields are all null: %v", err)
	}
}

// r24aSetIndexes gives item_view's Redis sink the indexes (nil: none), as
// an edited file would, and compiles the configuration again.
func r24aSetIndexes(f *fixture, indexes []config.RedisIndex) {
	f.t.Helper()
	for i := range f.cfg.Views {
		if f.cfg.Views[i].Key == "item_view" {
			f.cfg.Views[i].Value.Sinks.Redis.Indexes = indexes
		}
	}
	plan, err := projections.Compile(f.cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	f.plan = plan
}

// TestR24aReaddedIndexKeepsDeletedDoc: README, Redis indexes are "a sorted
// set per index key, kept right on moves and deletes", and a rebuild of
// the Redis store makes its keys right. A view's index is taken out of the
// file (rebuilt), a document is deleted meanwhile, and the index is
// declared again (rebuilt): the deleted document's id stays in the index
// for good. Its delete, written without indexes, left its index entry and
// its membership key; the second rebuild's fill only writes live
// documents, and its sweep skips every document whose doc key is gone, so
// nothing takes the entry out. A reader of the index then GETs a key that
// does not exist.
func TestR24aReaddedIndexKeepsDeletedDoc(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f := newFixture(t)
	t.Cleanup(func() { unlinkMatching(f.rdb, "projector:ix:{"+f.prefix+"*") })
	index := []config.RedisIndex{{Key: f.prefix + "byname:{name}", Score: "qty"}}
	r24aSetIndexes(f, index)
	d := f.startDaemon()
	src := f.seed(d, 1, 3)
	d.stop()
	if n, err := f.rdb.ZCard(ctx, f.prefix+"byname:item-2").Result(); err != nil || n != 1 {
		t.Fatalf("index byname:item-2 holds %d members (%v), want 1", n, err)
	}

	r24aSetIndexes(f, nil) // the index taken out of the file
	if _, err := Run(ctx, f.openEnv(), Options{View: "item_view", Stores: []string{"redis"}, Keep: 0}); err != nil {
		t.Fatalf("rebuild without the index: %v", err)
	}
	d = f.startDaemon()
	d.lsn = 1_000_000 // after the seed's positions
	if err := d.apply(ctx, map[int64]*item{2: nil}); err != nil {
		t.Fatal(err)
	}
	src[2] = nil
	d.stop()

	r24aSetIndexes(f, index) // and declared again
	if _, err := Run(ctx, f.openEnv(), Options{View: "item_view", Stores: []string{"redis"}, Keep: 0}); err != nil {
		t.Fatalf("rebuild with the index again: %v", err)
	}
	f.wantDocs(src)
	if members, err := f.rdb.ZRange(ctx, f.prefix+"byname:item-2", 0, -1).Result(); err != nil || len(members) != 0 {
		t.Errorf("after the rebuild the index %sbyname:item-2 holds %q (%v); document 2 was deleted, want it empty", f.prefix, members, err)
	}
}
