package projector_test

import (
	"encoding/json"
	"testing"

	"github.com/projectorhq/projector/projector"
)

// TestPatchPaddingBudget: the nulls one patch pads arrays with are bounded
// in all, in both states: a set whose padding would take the patch past
// 1,500,000 nulls (more than a 16 MB MongoDB document holds) is left out,
// as one past that bound on its own is.
func TestPatchPaddingBudget(t *testing.T) {
	const id = "6811137d0c9f202a34d861e0"
	const cfg = `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  users: { topic: m.shop.users, key: _id }
views:
  user_view:
    from: users
    fields: { id: _id, a0: a0, a1: a1 }
    sinks: { postgres: {} }
`
	recs := []projector.Record{
		mongoOplog("c", id, `{"_id": {"$oid": "`+id+`"}, "a0": [], "a1": []}`, "", 100, 1),
		mongoOplog("u", id, "", `{"$v": 1, "$set": {"a0.999999": 1, "a1.999999": 2}}`, 101, 1),
	}
	for kind, got := range mongoRun(t, cfg, recs, id) {
		var doc struct{ A0, A1 []any }
		if err := json.Unmarshal([]byte(got), &doc); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if len(doc.A0) != 1_000_000 || doc.A0[999_999] != 1.0 || len(doc.A1) != 0 {
			t.Errorf("%s state: a0 has %d elements, a1 %d; want a0 padded to 1,000,000 and a1's set left out", kind, len(doc.A0), len(doc.A1))
		}
	}
}
