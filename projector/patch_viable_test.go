package projector_test

import (
	"context"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

const viableYAML = `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  users: { topic: m.shop.users, key: _id }
views:
  user_view:
    from: users
    fields: { id: _id, name: name, address: address }
    sinks: { postgres: {} }
`

// TestPatchPathNotViable: a MongoDB partial update whose path steps into an
// array by a field name ("address.city" where address is an array) made
// jsonb_patch raise, failing the whole batch, which the consumer retried
// forever. MongoDB refuses such a $set, so a change stream carrying one
// updated another document than the stored one, a newer one (a snapshot
// read after the update): the patch is skipped as stale, the document left
// as it is. An $unset through it is a no-op, as MongoDB's. The rest of the
// batch is projected either way.
func TestPatchPathNotViable(t *testing.T) {
	const id, id2 = "6811137d0c9f202a34d861e0", "6811137d0c9f202a34d861e1"
	for _, tc := range []struct {
		name    string
		bad     projector.Record
		skipped bool
	}{
		{"set", mongoRecord("u", id, "", `{"address.city": "Paris", "name": "Eve"}`, nil, 1001, 1), true},
		{"set a negative index", mongoRecord("u", id, "", `{"address.-1": 3}`, nil, 1001, 1), true},
		{"unset", mongoRecord("u", id, "", `{"name": "Eve"}`, []string{"address.x.y", "address.city"}, 1001, 1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool, _ := testenv.Postgres(t)
			_, plan := loadPlan(t, viableYAML, nil)
			mem := &memSink{docs: map[string]sinks.Doc{}}
			eng := newEngine(t, pool, plan, mem, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if dead, err := eng.Process(ctx, []projector.Record{
				mongoRecord("c", id, `{"_id": {"$oid": "`+id+`"}, "name": "Ada", "address": [1, 2]}`, "", nil, 1000, 1),
			}); err != nil || len(dead) > 0 {
				t.Fatalf("insert: %v %v", err, dead)
			}
			recs := []projector.Record{tc.bad, mongoRecord("c", id2, `{"_id": {"$oid": "`+id2+`"}, "name": "Ken"}`, "", nil, 1002, 1)}
			for i := range recs {
				recs[i].Offset = int64(10 + i)
			}
			dead, err := eng.Process(ctx, recs)
			if err != nil {
				t.Fatalf("the batch failed: %v", err)
			}
			if _, ok := mem.docs[id2]; !ok {
				t.Errorf("the record behind the patch was not projected")
			}
			name := mem.docs[id].Fields["name"]
			if !tc.skipped {
				if len(dead) != 0 || name != "Eve" {
					t.Errorf("dead letters %v, name %v: want the patch applied (name Eve), its unset a no-op", dead, name)
				}
				return
			}
			if len(dead) != 0 {
				t.Fatalf("dead letters %v, want the patch skipped as stale", dead)
			}
			if name != "Ada" {
				t.Errorf("name %v: the skipped patch changed the document", name)
			}
		})
	}
}
