package projector_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

const r15aPadConfig = `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  users: { topic: m.shop.users, key: _id }
views:
  user_view:
    from: users
    fields: { id: _id, name: name, a0: a0, a1: a1, a2: a2, a3: a3, a4: a4, a5: a5, a6: a6, a7: a7, a8: a8, a9: a9, a10: a10, a11: a11, a12: a12, a13: a13, a14: a14, a15: a15 }
    sinks: { postgres: {} }
`

// TestR15aMongoPatchPaddingAmplifies: a $set past an array's end pads it
// with nulls, up to maxArrayPad (1,500,000) per path, MongoDB's own bound
// for one array. But nothing bounds a patch as a whole: one oplog update of
// a few hundred bytes setting "aK.1499999" on 16 arrays makes a document
// of 24 million nulls (about 120 MB as JSON), which no MongoDB could hold
// (16 MB per document) and which costs the daemon gigabytes. Such a record
// must be a dead letter (or the document bounded), not be projected.
func TestR15aMongoPatchPaddingAmplifies(t *testing.T) {
	const id = "6811137d0c9f202a34d861e0"
	const arrays = 16
	var after, set []string
	for i := range arrays {
		after = append(after, fmt.Sprintf(`"a%d": []`, i))
		set = append(set, fmt.Sprintf(`"a%d.1499999": 1`, i))
	}
	recs := []projector.Record{
		mongoOplog("c", id, `{"_id": {"$oid": "`+id+`"}, "name": "Ada", `+strings.Join(after, ", ")+`}`, "", 100, 1),
		mongoOplog("u", id, "", `{"$v": 1, "$set": {`+strings.Join(set, ", ")+`}}`, 101, 1),
	}
	_, plan := loadPlan(t, r15aPadConfig, nil)
	mem := &memSink{docs: map[string]sinks.Doc{}}
	eng, err := projector.New(projector.Options{Plan: plan, Memory: true,
		Sinks: []projector.Route{{Sink: mem, Views: []string{"user_view"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	recs[0].Offset, recs[1].Offset = 0, 1
	if dead, err := eng.Process(ctx, recs[:1]); err != nil || len(dead) != 0 {
		t.Fatalf("insert: %v %v", dead, err)
	}
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	dead, err := eng.Process(ctx, recs[1:])
	runtime.ReadMemStats(&m1)
	if err != nil {
		t.Fatalf("process: %v", err)
	}
	if len(dead) == 1 {
		return // refused: a dead letter, as it should be
	}
	nulls := 0
	if d, ok := mem.docs[id]; ok {
		for i := range arrays {
			if a, ok := d.Fields[fmt.Sprintf("a%d", i)].([]any); ok {
				nulls += len(a)
			}
		}
	}
	size, _ := json.Marshal(mem.docs[id].Fields)
	alloc := m1.TotalAlloc - m0.TotalAlloc
	t.Logf("update record of %d bytes: doc of %d array items, %d bytes as JSON; %d MB allocated", len(recs[1].Value), nulls, len(size), alloc>>20)
	if nulls > 1_500_000 || alloc > 256<<20 {
		t.Fatalf("an update record of %d bytes was projected into a document of %d padded array items (%d bytes of JSON, %d MB allocated): beyond MongoDB's 16 MB document limit, it should be a dead letter", len(recs[1].Value), nulls, len(size), alloc>>20)
	}
}
