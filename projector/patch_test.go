package projector_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// mongoRecord is a MongoDB change-streams record; an update without the
// full document (capture.mode change_streams) says what changed only in
// updateDescription.
func mongoRecord(op, id, after, updated string, removed []string, ts, ord int64) projector.Record {
	var ud map[string]any
	if updated != "" || removed != nil {
		ud = map[string]any{"updatedFields": updated, "removedFields": removed, "truncatedArrays": nil}
	}
	return mongoStream(op, id, after, "", ud, ts, ord)
}

// TestMongoPartialUpdate: an update carrying only updatedFields and
// removedFields patches the stored document (dotted paths into nested
// objects), keeping what it does not name.
func TestMongoPartialUpdate(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  users: { topic: m.shop.users, key: _id }
views:
  user_view:
    from: users
    fields: { id: _id, name: name, email: email, status: status, address: address }
    sinks: { postgres: {} }
`, nil)
	mem := &memSink{docs: map[string]sinks.Doc{}}
	eng := newEngine(t, pool, plan, mem, nil)
	const id = "6811137d0c9f202a34d861e0"
	recs := []projector.Record{
		mongoRecord("c", id, `{"_id": {"$oid": "`+id+`"}, "name": "Ada", "email": "ada@example.com", "status": "active", "address": {"city": "London", "zip": "N1"}}`, "", nil, 1000, 1),
		mongoRecord("u", id, "", `{"name": "Ada L.", "address.city": "Paris"}`, []string{"status"}, 1001, 1),
	}
	for i := range recs {
		recs[i].Offset = int64(i)
		// One record per batch, and both in one batch: the result is the same.
	}
	for _, batch := range [][]projector.Record{recs[:1], recs[1:]} {
		if dead, err := eng.Process(context.Background(), batch); err != nil || len(dead) > 0 {
			t.Fatalf("process: %v, dead letters %v", err, dead)
		}
	}
	d := mem.docs[id]
	got, _ := json.Marshal(d.Fields)
	want := `{"address":{"city":"Paris","zip":"N1"},"email":"ada@example.com","id":"` + id + `","name":"Ada L.","status":null}`
	if string(got) != want {
		t.Errorf("after the partial update:\n got %s\nwant %s", got, want)
	}

	// A replayed older partial update changes nothing.
	old := mongoRecord("u", id, "", `{"name": "stale"}`, nil, 999, 1)
	if _, err := eng.Process(context.Background(), []projector.Record{old}); err != nil {
		t.Fatal(err)
	}
	if again, _ := json.Marshal(mem.docs[id].Fields); string(again) != want {
		t.Errorf("a stale patch changed the doc: %s", again)
	}
}

// TestMongoPartialUpdateOfUnseenDocument: a partial update of a document
// whose insert the state never saw (retention dropped it, the connector
// started without a snapshot) would make a document of only the changed
// fields. It is a dead letter naming the record; the doc appears whole
// once a full version of it arrives, and a patch in the batch of its
// insert applies to it.
func TestMongoPartialUpdateOfUnseenDocument(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  users: { topic: m.shop.users, key: _id }
views:
  user_view:
    from: users
    fields: { id: _id, name: name, email: email }
    sinks: { postgres: {} }
`, nil)
	mem := &memSink{docs: map[string]sinks.Doc{}}
	eng := newEngine(t, pool, plan, mem, nil)
	const id, id2 = "6811137d0c9f202a34d861e0", "6811137d0c9f202a34d861e1"
	patch := mongoRecord("u", id, "", `{"name": "Ada L."}`, nil, 1000, 1)
	patch.Offset = 7
	dead, err := eng.Process(context.Background(), []projector.Record{patch})
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].Record.Offset != 7 || dead[0].Record.Topic != "m.shop.users" {
		t.Fatalf("dead letters %v, want the patch (offset 7)", dead)
	}
	if !errors.Is(dead[0].Err, projector.ErrBadRecord) || !strings.Contains(dead[0].Err.Error(), "partial update") {
		t.Errorf("dead letter's reason: %v", dead[0].Err)
	}
	if d, ok := mem.docs[id]; ok {
		t.Errorf("a patch of nothing wrote %v", d.Fields)
	}

	// Insert and patch in one batch; the unseen doc's full version.
	recs := []projector.Record{
		mongoRecord("c", id2, `{"_id": {"$oid": "`+id2+`"}, "name": "Ken", "email": "ken@example.com"}`, "", nil, 1001, 1),
		mongoRecord("u", id2, "", `{"name": "Kenneth"}`, nil, 1002, 1),
		mongoRecord("r", id, `{"_id": {"$oid": "`+id+`"}, "name": "Ada L.", "email": "ada@example.com"}`, "", nil, 1003, 1),
	}
	if dead, err := eng.Process(context.Background(), recs); err != nil || len(dead) > 0 {
		t.Fatalf("process: %v, dead letters %v", err, dead)
	}
	for doc, want := range map[string]string{
		id:  `{"email":"ada@example.com","id":"` + id + `","name":"Ada L."}`,
		id2: `{"email":"ken@example.com","id":"` + id2 + `","name":"Kenneth"}`,
	} {
		if got, _ := json.Marshal(mem.docs[doc].Fields); string(got) != want {
			t.Errorf("%s:\n got %s\nwant %s", doc, got, want)
		}
	}
}
