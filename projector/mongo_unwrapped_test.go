package projector_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/projectorhq/projector/projector"
)

// mongoStream builds a Debezium 2.x MongoDB change-streams record for
// collection shop.users (topic m.shop.users).
func mongoStream(op, id, after, before string, ud map[string]any, ts, ord int64) projector.Record {
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

// TestMongoTruncatedArrays: a $pop / $push with $slice shrinks an
// array; change streams report it only in truncatedArrays. The view must
// show the shorter array, as the collection does.
func TestMongoTruncatedArrays(t *testing.T) {
	const id = "6811137d0c9f202a34d861e0"
	recs := []projector.Record{
		mongoStream("c", id, `{"_id": {"$oid": "`+id+`"}, "name": "Ada", "items": [1, 2, 3]}`, "", nil, 1000, 1),
		// db.users.updateOne({_id}, {$pop: {items: 1}}) twice in one $push/$slice
		mongoStream("u", id, "", "", map[string]any{"updatedFields": `{}`, "removedFields": []string{},
			"truncatedArrays": []map[string]any{{"field": "items", "size": 1}}}, 1001, 1),
	}
	want := `{"id":"` + id + `","items":[1],"name":"Ada"}`
	for kind, got := range mongoRun(t, mongoConfig, recs, id) {
		if got != want {
			t.Errorf("%s state: got %s, want %s", kind, got, want)
		}
	}
}

// unwrappedRecord is a record of ExtractNewDocumentState output: the SMT
// rewrites the key too, and MongoDataConverter turns an ObjectId into its
// hex string, so the key is {"id": "<hex>"}, not Extended JSON.
func unwrappedRecord(id, value string) projector.Record {
	return projector.Record{Topic: "m.shop.users", Key: []byte(`{"id":"` + id + `"}`), Value: []byte(value)}
}

// TestMongoUnwrappedAddFields: ExtractNewDocumentState with
// add.fields=op,collection,source.ts_ms,source.ord. The documents must be
// projected (and deleted), not dead-lettered because the key's id is a
// plain ObjectId hex string.
func TestMongoUnwrappedAddFields(t *testing.T) {
	const id = "6811137d0c9f202a34d861e0"
	recs := []projector.Record{
		unwrappedRecord(id, `{"_id":"`+id+`","name":"Ada","__op":"c","__collection":"users","__source_ts_ms":1000000,"__source_ord":1}`),
		unwrappedRecord(id, `{"_id":"`+id+`","name":"Bob","__op":"u","__collection":"users","__source_ts_ms":1001000,"__source_ord":1}`),
	}
	want := `{"id":"` + id + `","items":null,"name":"Bob"}`
	for kind, got := range mongoRun(t, mongoConfig, recs, id) {
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
		unwrappedRecord(id, `{"_id":"`+id+`","name":"Ada","__deleted":false}`),
		unwrappedRecord(id, `{"__deleted":true}`),
	}
	for kind, got := range mongoRun(t, mongoConfig, recs, id) {
		if got != "<deleted>" {
			t.Errorf("%s state: got %s, want the doc deleted", kind, got)
		}
	}
}
