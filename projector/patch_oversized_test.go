package projector_test

import (
	"context"
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// TestPatchOfOneLongGroupValueBesideAnother: a MongoDB update carrying
// only its changes sets one group_by field long while the other one, which
// it leaves, is long already: together they are over what the group index
// holds, which only the patched row shows. The patch is a dead letter (its
// batch goes on), the row keeps its version before it, and a later full
// version of the document that fits is applied. On the PostgreSQL state
// and the memory one alike.
func TestPatchOfOneLongGroupValueBesideAnother(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  items: { topic: m.shop.users, key: _id }
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
	long := func(seed byte) string {
		noise := make([]byte, 1_500)
		_, _ = rand.NewChaCha8([32]byte{seed}).Read(noise)
		return base64.StdEncoding.EncodeToString(noise) // 2,000 bytes: under 2,048 alone
	}
	shop := long(1)
	for _, memory := range []bool{false, true} {
		mem := &memSink{docs: map[string]sinks.Doc{}}
		var eng *projector.Engine
		if !memory {
			eng = newEngine(t, pool, plan, mem, nil)
		}
		if memory {
			var err error
			if eng, err = projector.New(projector.Options{Plan: plan, Memory: true, Sinks: []projector.Route{{Sink: mem, Views: []string{"by_shop_name"}}}}); err != nil {
				t.Fatal(err)
			}
		}
		const id = "6811137d0c9f202a34d861e0"
		create := mongoRecord("c", id, `{"_id": {"$oid": "`+id+`"}, "shop": "`+shop+`", "name": "short"}`, "", nil, 1000, 1)
		if dead, err := eng.Process(context.Background(), []projector.Record{create}); err != nil || len(dead) > 0 {
			t.Fatalf("memory %v: create: %v, dead letters %v", memory, err, dead)
		}
		patch := mongoRecord("u", id, "", `{"name": "`+long(2)+`"}`, nil, 1001, 1)
		patch.Offset = 1
		dead, err := eng.Process(context.Background(), []projector.Record{patch})
		if err != nil {
			t.Fatalf("memory %v: the patch fails its batch (retried for ever) instead of being a dead letter: %v", memory, err)
		}
		if len(dead) != 1 || !strings.Contains(dead[0].Err.Error(), "longer than projector indexes") {
			t.Errorf("memory %v: dead letters %v, want the patch, saying its values are too long", memory, dead)
		}
		full := mongoRecord("u", id, `{"_id": {"$oid": "`+id+`"}, "shop": "s2", "name": "n2"}`, "", nil, 1002, 1)
		full.Offset = 2
		if dead, err := eng.Process(context.Background(), []projector.Record{full}); err != nil || len(dead) > 0 {
			t.Fatalf("memory %v: full version: %v, dead letters %v", memory, err, dead)
		}
		var live []string
		for id, d := range mem.docs {
			if !d.Deleted {
				live = append(live, id)
			}
		}
		if len(live) != 1 || !strings.Contains(live[0], `"s2","n2"`) {
			t.Errorf("memory %v: live groups %d, want the full version's alone", memory, len(live))
		}
	}
}
