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

// TestR33iPatchOfLongGroupValuesIsNotDeadLettered: review 33g bounded the
// group_by columns a view indexes together (decode.go toRowChange,
// src.IndexedTogether), but the check reads row := ch.After, which is nil
// for a MongoDB update that carries only its changes (change streams
// without the full document, a 1.x oplog $set). Such a patch that sets
// both group_by fields to 2,000 incompressible bytes passes every bound,
// and PostgreSQL refuses the patched row's entry in the group index
// (state_items#group("shop","name"), "index row size … exceeds btree
// version 4 maximum 2704"): Process fails the whole batch, and the
// consumer retries it for ever, projecting nothing behind it.
//
// Expected (README, Dead letters; commit 6d18a97): the patch is a dead
// letter saying the group values are too long together, and the batch
// goes on: Process returns no error.
func TestR33iPatchOfLongGroupValuesIsNotDeadLettered(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  items: { topic: m.shop.users, key: _id } # the topic mongoRecord writes
views:
  by_shop_name:
    from: items
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
		return base64.StdEncoding.EncodeToString(noise) // 2,000 bytes each: under 2,048 alone, over it together
	}
	const id = "6811137d0c9f202a34d861e0"
	create := mongoRecord("c", id, `{"_id": {"$oid": "`+id+`"}, "shop": "s1", "name": "short"}`, "", nil, 1000, 1)
	if dead, err := eng.Process(context.Background(), []projector.Record{create}); err != nil || len(dead) > 0 {
		t.Fatalf("create: %v, dead letters %v", err, dead)
	}
	patch := mongoRecord("u", id, "", `{"shop": "`+long(1)+`", "name": "`+long(2)+`"}`, nil, 1001, 1)
	patch.Offset = 1
	dead, err := eng.Process(context.Background(), []projector.Record{patch})
	if err != nil {
		t.Fatalf("a patch setting both group_by fields to 2,000 bytes fails its batch (retried for ever by the consumer) instead of being a dead letter: %v", err)
	}
	if len(dead) != 1 {
		t.Errorf("dead letters %v: want the patch, whose group values are too long together", dead)
	}
}
