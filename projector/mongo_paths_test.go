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

// mongoOplog builds a Debezium 1.x MongoDB (oplog connector) record of
// collection shop.users: op c carries after, op u carries the raw oplog
// "o" document in patch and the document's _id in filter.
func mongoOplog(op, id, after, patch string, ts, ord int64) projector.Record {
	payload := map[string]any{
		"after": nil, "patch": nil, "filter": nil,
		"source": map[string]any{"version": "1.9.7.Final", "connector": "mongodb", "name": "m", "ts_ms": ts * 1000,
			"snapshot": "false", "db": "shop", "rs": "rs0", "collection": "users", "ord": ord, "h": nil, "tord": nil, "stxnid": nil},
		"op": op, "ts_ms": ts*1000 + 1,
	}
	if after != "" {
		payload["after"] = after
	}
	if patch != "" {
		payload["patch"] = patch
		payload["filter"] = `{"_id": {"$oid": "` + id + `"}}`
	}
	v, _ := json.Marshal(payload)
	k := fmt.Sprintf(`{"id":"{\"$oid\": \"%s\"}"}`, id)
	return projector.Record{Topic: "m.shop.users", Key: []byte(k), Value: v}
}

const mongoConfig = `
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

// mongoRun processes recs one per batch, with the PostgreSQL state and with
// the memory state, and returns doc id's fields as JSON per state kind.
func mongoRun(t *testing.T, cfg string, recs []projector.Record, id string) map[string]string {
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
				t.Errorf("record %d dead-lettered: %v", i, d.Err)
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

func mongoWant(t *testing.T, got map[string]string, want string) {
	t.Helper()
	for _, kind := range []string{"postgres", "memory"} {
		if got[kind] != want {
			t.Errorf("%s state:\n got %s\nwant %s", kind, got[kind], want)
		}
	}
}

const mongoID = "6811137d0c9f202a34d861e0"

// TestMongoUnsetArrayElementIsNull: MongoDB's $unset of an array
// element does not remove it, it sets it to null (mongo/db/update/
// unset_node.cpp: "Special case: An $unset on an array element sets it to
// null instead of removing it from the array"), and the oplog records the
// operator as given (UnsetNode::logUpdate → logBuilder->addToUnsets(
// pathTaken)), so a Debezium 1.x patch is {"$unset": {"items.1": true}};
// a change stream over such an oplog reports removedFields ["items.1"].
// Applied with jsonb's #- it would delete the element and shift the ones
// after it: items [1,2,3] would become [1,3] instead of [1,null,3].
func TestMongoUnsetArrayElementIsNull(t *testing.T) {
	want := `{"id":"` + mongoID + `","items":[1,null,3],"name":"Ada"}`
	create := `{"_id": {"$oid": "` + mongoID + `"}, "name": "Ada", "items": [1, 2, 3]}`
	t.Run("oplog 1.x $unset", func(t *testing.T) {
		mongoWant(t, mongoRun(t, mongoConfig, []projector.Record{
			mongoOplog("c", mongoID, create, "", 1000, 1),
			mongoOplog("u", mongoID, "", `{"$v": 1, "$unset": {"items.1": true}}`, 1001, 1),
		}, mongoID), want)
	})
	t.Run("change streams removedFields", func(t *testing.T) {
		mongoWant(t, mongoRun(t, mongoConfig, []projector.Record{
			mongoStream("c", mongoID, create, "", nil, 1000, 1),
			mongoStream("u", mongoID, "", "", map[string]any{"updatedFields": `{}`, "removedFields": []string{"items.1"}, "truncatedArrays": nil}, 1001, 1),
		}, mongoID), want)
	})
}

// TestMongoSetArrayIndexPastEndPads: {$set: {"items.5": 9}} on a
// three-element array pads it with nulls up to index 5 (mongo/db/
// field_ref / path_support.cpp createPathAt → maybePadTo), and the oplog
// logs the dotted path as applied (ModifierSet::log: "we log the mod with a
// dotted field"), so the 1.x patch is {"$set": {"items.5": 9}}. jsonb_set
// with create_missing appends past the end instead: items would become
// [1,2,3,9], and every later patch naming items.3/items.5 would hit the
// wrong element; below the new element ("items.4.x") the value would be
// lost, the intermediate {} appended at index 3.
func TestMongoSetArrayIndexPastEndPads(t *testing.T) {
	create := `{"_id": {"$oid": "` + mongoID + `"}, "name": "Ada", "items": [1, 2, 3]}`
	t.Run("element", func(t *testing.T) {
		mongoWant(t, mongoRun(t, mongoConfig, []projector.Record{
			mongoOplog("c", mongoID, create, "", 1000, 1),
			mongoOplog("u", mongoID, "", `{"$v": 1, "$set": {"items.5": 9}}`, 1001, 1),
		}, mongoID), `{"id":"`+mongoID+`","items":[1,2,3,null,null,9],"name":"Ada"}`)
	})
	t.Run("field of a new element", func(t *testing.T) {
		mongoWant(t, mongoRun(t, mongoConfig, []projector.Record{
			mongoOplog("c", mongoID, create, "", 1000, 1),
			mongoOplog("u", mongoID, "", `{"$v": 1, "$set": {"items.4.x": "y"}}`, 1001, 1),
		}, mongoID), `{"id":"`+mongoID+`","items":[1,2,3,null,{"x":"y"}],"name":"Ada"}`)
	})
}

const mongoJoinConfig = `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  orders: { topic: pg.public.orders, key: id, columns: { id: bigint, user_id: text, status: text } }
  users: { topic: m.shop.users, key: _id, columns: { _id: text, name: text, tags: jsonb } }
views:
  order_view:
    from: orders
    fields:
      id: id
      status: status
      customer:
        one: users
        on: { _id: user_id }
        fields: { id: _id, name: name, tags: tags }
    sinks: { postgres: {} }
`

func mongoOrder(id int64, user string, lsn int64) projector.Record {
	v, _ := json.Marshal(map[string]any{
		"before": nil, "after": map[string]any{"id": id, "user_id": user, "status": "new"},
		"source": map[string]any{"version": "2.7.0.Final", "connector": "postgresql", "name": "pg", "ts_ms": 1000,
			"snapshot": "false", "db": "shop", "schema": "public", "table": "orders", "lsn": lsn, "txId": lsn},
		"op": "c", "ts_ms": 1001,
	})
	return projector.Record{Topic: "pg.public.orders", Key: []byte(fmt.Sprintf(`{"id":%d}`, id)), Value: v}
}

// TestMongoJoinFanOut: a partial update, a delete and a re-create of
// a MongoDB user (ObjectId _id) reach every PostgreSQL order that joins it
// by its hex in a text column, in both state kinds.
func TestMongoJoinFanOut(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	for _, memory := range []bool{false, true} {
		_, plan := loadPlan(t, mongoJoinConfig, nil)
		mem := &memSink{docs: map[string]sinks.Doc{}}
		eng, err := projector.New(projector.Options{Plan: plan, Pool: pool, Memory: memory,
			Sinks: []projector.Route{{Sink: mem, Views: []string{"order_view"}}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		step := func(name string, want string, recs ...projector.Record) {
			t.Helper()
			if dead, err := eng.Process(context.Background(), recs); err != nil || len(dead) > 0 {
				t.Fatalf("%s: %v %v", name, err, dead)
			}
			for _, id := range []string{"1", "2", "3"} {
				got, _ := json.Marshal(mem.docs[id].Fields["customer"])
				if string(got) != want {
					t.Errorf("memory=%v %s: order %s customer %s, want %s", memory, name, id, got, want)
				}
			}
		}
		create := `{"_id": {"$oid": "` + mongoID + `"}, "name": "Ada", "tags": [{"t": "a", "at": {"$date": 1746034410610}}]}`
		step("create", `{"id":"`+mongoID+`","name":"Ada","tags":[{"at":"2025-04-30T17:33:30.61Z","t":"a"}]}`,
			mongoStream("c", mongoID, create, "", nil, 1000, 1), mongoOrder(1, mongoID, 10), mongoOrder(2, mongoID, 11), mongoOrder(3, mongoID, 12))
		step("patch", `{"id":"`+mongoID+`","name":"Ada L.","tags":[{"at":"2025-04-30T17:33:30.61Z","t":"b"}]}`,
			mongoStream("u", mongoID, "", "", map[string]any{"updatedFields": `{"name": "Ada L.", "tags.0.t": "b"}`, "removedFields": nil, "truncatedArrays": nil}, 1001, 1))
		step("delete", `null`, mongoStream("d", mongoID, "", "", nil, 1002, 1))
		step("re-create", `{"id":"`+mongoID+`","name":"Eve","tags":null}`,
			mongoStream("c", mongoID, `{"_id": {"$oid": "`+mongoID+`"}, "name": "Eve"}`, "", nil, 1003, 1))
	}
}

// TestMongoUnwrappedStringIDKey: ExtractNewDocumentState builds the
// record key as BsonDocument.parse("{ \"id\" : " + key + "}") and converts
// it with MongoDataConverter, so a document whose _id is the STRING
// "12345678901234567890" gets the key {"id":"12345678901234567890"}: a
// plain string, no longer Extended JSON (the README: "After
// ExtractNewDocumentState the key is the id as the SMT writes it"). Read
// as Extended JSON, the numeric-looking string would become the float64
// 1.2345678901234567e19 (the key wins over the row's _id): both documents
// would come out of the view as deleted, and two ids that round to the
// same float would share one state row. (Likewise "1.50" would key as 1.5,
// "1e3" as 1000, "true" as a boolean.)
func TestMongoUnwrappedStringIDKey(t *testing.T) {
	const a, b = "12345678901234567890", "12345678901234567891"
	rec := func(id, name string, ts int64) projector.Record {
		return projector.Record{Topic: "m.shop.users", Key: []byte(`{"id":"` + id + `"}`),
			Value: []byte(`{"_id":"` + id + `","name":"` + name + `","__op":"c","__collection":"users","__source_ts_ms":` + fmt.Sprint(ts*1000) + `,"__source_ord":1}`)}
	}
	recs := []projector.Record{rec(a, "Ada", 1000), rec(b, "Bob", 1001)}
	for id, want := range map[string]string{
		a: `{"id":"` + a + `","items":null,"name":"Ada"}`,
		b: `{"id":"` + b + `","items":null,"name":"Bob"}`,
	} {
		mongoWant(t, mongoRun(t, mongoConfig, recs, id), want)
	}
}
