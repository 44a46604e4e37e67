package projector_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// reviewMongo builds a Debezium 2.x MongoDB change-streams record for
// collection shop.users (topic m.shop.users).
func reviewMongo(op, id, after, before string, ud map[string]any, ts, ord int64) projector.Record {
	payload := map[string]any{
		"before": nil, "after": nil,
		"source": map[string]any{"version": "2.7.0.Final", "connector": "mongodb", "name": "m", "ts_ms": ts * 1000,
			"snapshot": "false", "db": "shop", "collection": "users", "ord": ord},
		"op": op, "ts_ms": ts*1000 + 1,
	}
	if after != "" {
		payload["after"] = after
	}
	if before != "" {
		payload["before"] = before
	}
	if ud != nil {
		payload["updateDescription"] = ud
	}
	v, _ := json.Marshal(payload)
	k := fmt.Sprintf(`{"id":"{\"$oid\": \"%s\"}"}`, id)
	return projector.Record{Topic: "m.shop.users", Key: []byte(k), Value: v}
}

const reviewUsersConfig = `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  users: { topic: m.shop.users, key: _id }
views:
  user_view:
    from: users
    fields: { id: _id, name: name, items: items }
    sinks: { postgres: {} }
`

// reviewRun processes recs one per batch with the PostgreSQL state and with
// the memory state, and returns the docs' fields as JSON by state kind.
func reviewRun(t *testing.T, cfg string, recs []projector.Record, id string) map[string]string {
	t.Helper()
	pool, _ := testenv.Postgres(t)
	out := map[string]string{}
	for _, memory := range []bool{false, true} {
		_, plan := loadPlan(t, cfg, nil)
		mem := &memSink{docs: map[string]sinks.Doc{}}
		var views []string
		for _, v := range plan.Views {
			views = append(views, v.Name)
		}
		eng, err := projector.New(projector.Options{Plan: plan, Pool: pool, Memory: memory,
			Sinks: []projector.Route{{Sink: mem, Views: views}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		for i := range recs {
			r := recs[i]
			r.Offset = int64(i)
			dead, err := eng.Process(context.Background(), []projector.Record{r})
			if err != nil {
				t.Fatalf("process: %v", err)
			}
			for _, d := range dead {
				t.Errorf("record %d (%s) dead-lettered: %v", i, r.Value, d.Err)
			}
		}
		name := "postgres"
		if memory {
			name = "memory"
		}
		d, ok := mem.docs[id]
		switch {
		case !ok:
			out[name] = "<none>"
		case d.Deleted:
			out[name] = "<deleted>"
		default:
			b, _ := json.Marshal(d.Fields)
			out[name] = string(b)
		}
	}
	return out
}

// TestMongoTruncatedArrays: a $pop / $push with $slice shrinks an
// array; change streams report it only in truncatedArrays. The view must
// show the shorter array, as the collection does.
func TestMongoTruncatedArrays(t *testing.T) {
	const id = "6811137d0c9f202a34d861e0"
	recs := []projector.Record{
		reviewMongo("c", id, `{"_id": {"$oid": "`+id+`"}, "name": "Ada", "items": [1, 2, 3]}`, "", nil, 1000, 1),
		// db.users.updateOne({_id}, {$pop: {items: 1}}) twice in one $push/$slice
		reviewMongo("u", id, "", "", map[string]any{"updatedFields": `{}`, "removedFields": []string{},
			"truncatedArrays": []map[string]any{{"field": "items", "size": 1}}}, 1001, 1),
	}
	want := `{"id":"` + id + `","items":[1],"name":"Ada"}`
	for kind, got := range reviewRun(t, reviewUsersConfig, recs, id) {
		if got != want {
			t.Errorf("%s state: got %s, want %s", kind, got, want)
		}
	}
}

// reviewUnwrapped is a record of ExtractNewDocumentState output: the SMT
// rewrites the key too, and MongoDataConverter turns an ObjectId into its
// hex string, so the key is {"id": "<hex>"}, not Extended JSON.
func reviewUnwrapped(id, value string) projector.Record {
	return projector.Record{Topic: "m.shop.users", Key: []byte(`{"id":"` + id + `"}`), Value: []byte(value)}
}

// TestMongoUnwrappedAddFields: ExtractNewDocumentState with
// add.fields=op,collection,source.ts_ms,source.ord. The documents must be
// projected (and deleted), not dead-lettered because the key's id is a
// plain ObjectId hex string.
func TestMongoUnwrappedAddFields(t *testing.T) {
	const id = "6811137d0c9f202a34d861e0"
	recs := []projector.Record{
		reviewUnwrapped(id, `{"_id":"`+id+`","name":"Ada","__op":"c","__collection":"users","__source_ts_ms":1000000,"__source_ord":1}`),
		reviewUnwrapped(id, `{"_id":"`+id+`","name":"Bob","__op":"u","__collection":"users","__source_ts_ms":1001000,"__source_ord":1}`),
	}
	want := `{"id":"` + id + `","items":null,"name":"Bob"}`
	for kind, got := range reviewRun(t, reviewUsersConfig, recs, id) {
		if got != want {
			t.Errorf("%s state: got %s, want %s", kind, got, want)
		}
	}
}

// TestMongoUnwrappedRewriteDelete: ExtractNewDocumentState with
// delete.handling.mode=rewrite and no pre-image emits {"__deleted": true}
// for a delete: only the key says which document went. The document must
// leave the view.
func TestMongoUnwrappedRewriteDelete(t *testing.T) {
	const id = "6811137d0c9f202a34d861e0"
	recs := []projector.Record{
		reviewUnwrapped(id, `{"_id":"`+id+`","name":"Ada","__deleted":false}`),
		reviewUnwrapped(id, `{"__deleted":true}`),
	}
	for kind, got := range reviewRun(t, reviewUsersConfig, recs, id) {
		if got != "<deleted>" {
			t.Errorf("%s state: got %s, want the doc deleted", kind, got)
		}
	}
}
