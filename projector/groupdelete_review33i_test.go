package projector_test

import (
	"context"
	"encoding/base64"
	"math/rand/v2"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// TestR33iDeleteWithLongGroupPreImageIsApplied: review 33g bounds the
// group_by columns a view indexes together (decode.go toRowChange,
// src.IndexedTogether), but it reads them from the delete's pre-image
// too (row = ch.Before for a delete). A delete keeps only the key in the
// state (a tombstone, outside the group index's WHERE NOT deleted), so no
// index entry is made of those values: the bound has no reason to apply.
//
// With REPLICA IDENTITY FULL (or MongoDB pre-images) the delete carries
// the row's last values. Sequence: a row is created with short group
// values; an update sets them to 2,000 bytes each (rightly a dead letter:
// the state keeps the short row); the row is deleted, its before holding
// the long values. The delete is dead-lettered as well, so the state
// row stays live for good and the view keeps a group of a row the source
// no longer has: the convergence invariant (DESIGN.md 7) breaks, and the
// delete is "a legitimate record now dead-lettered".
//
// Expected: the delete is applied (no dead letter) and the group of the
// short row is gone from the view.
func TestR33iDeleteWithLongGroupPreImageIsApplied(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  widgets:
    topic: cqrs.public.widgets
    key: id
    columns: { id: text, name: text, shop: text }
views:
  by_shop_name:
    from: widgets
    group_by: [shop, name]
    fields:
      shop: shop
      name: name
      n: { agg: count }
    sinks: { postgres: {} }
`, nil)
	mem := &memSink{docs: map[string]sinks.Doc{}}
	eng := newEngine(t, pool, plan, mem, nil)
	long := func(seed byte) string {
		noise := make([]byte, 1_500)
		_, _ = rand.NewChaCha8([32]byte{seed}).Read(noise)
		return base64.StdEncoding.EncodeToString(noise) // 2,000 bytes
	}
	short := map[string]any{"id": "w1", "name": "short", "shop": "s1"}
	longRow := map[string]any{"id": "w1", "name": long(1), "shop": long(2)}
	rec := func(off int64, op string, before, after map[string]any) projector.Record {
		v := sample(t, "postgres/create_schemaless.value.json", func(m map[string]any) {
			m["op"], m["before"], m["after"] = op, before, after
			src := m["source"].(map[string]any)
			src["lsn"] = 314477488 + off*100
			src["sequence"] = nil
		})
		return projector.Record{Topic: "cqrs.public.widgets", Key: []byte(`{"id":"w1"}`), Value: v, Offset: off}
	}
	ctx := context.Background()
	if dead, err := eng.Process(ctx, []projector.Record{rec(0, "c", nil, short)}); err != nil || len(dead) > 0 {
		t.Fatalf("create: %v, dead letters %v", err, dead)
	}
	if dead, err := eng.Process(ctx, []projector.Record{rec(1, "u", short, longRow)}); err != nil || len(dead) != 1 {
		t.Fatalf("update to group values too long together: %v, dead letters %v; want it dead-lettered", err, dead)
	}
	dead, err := eng.Process(ctx, []projector.Record{rec(2, "d", longRow, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) > 0 {
		t.Errorf("the delete of the row is a dead letter (%v): its pre-image's values enter no index", dead[0].Err)
	}
	mem.mu.Lock()
	defer mem.mu.Unlock()
	for id, d := range mem.docs {
		if !d.Deleted && d.Fields["shop"] == "s1" {
			t.Errorf("view doc %s %v is still live after its only row was deleted in the source", id, d.Fields)
		}
	}
}
