package projector_test

// Review 27o: the memory state against the PostgreSQL one. A seeded random
// differential run (PostgreSQL envelopes with and without schema, MongoDB
// change streams and $v:2 oplog diffs, unwrapped records, TOAST, truncates,
// snapshot reads, replays, deletes and re-creates, over joins, group_by
// views and expressions) found no divergence; it found this instead, in
// both states alike.

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

const r27oUUIDYAML = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://unused/x" } }
sources:
  orders: { topic: p.public.orders, key: id, columns: { id: bigint, user_id: uuid } }
  users: { topic: m.shop.users, key: _id, columns: { _id: uuid, name: text } }
views:
  order_view:
    from: orders
    fields:
      id: id
      user_id: user_id
      customer: { one: users, on: { _id: user_id }, column: name }
    sinks: { postgres: {} }
`

// TestR27oMongoDeclaredUUIDIsCanonical: a MongoDB field declared uuid is
// not read as a uuid. The PostgreSQL decoder gives a declared uuid in
// canonical (lower-case) form, but the MongoDB hints (mongohints.go
// hinted) have no case for uuid, so a MongoDB _id "A0EEBC99-…" stays upper
// case: the join uuid = uuid, which validate accepts because equal values
// read alike, never matches the order's user_id of the same uuid, and a
// value that is no uuid at all is not refused either.
func TestR27oMongoDeclaredUUIDIsCanonical(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, r27oUUIDYAML, nil)
	pgEng, pgSink, memEng, memSink := twinEngines(t, pool, plan)
	const u = "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"
	mongo := func(id string, ord int64) projector.Record {
		payload := map[string]any{"before": nil, "after": `{"_id": "` + id + `", "name": "Ada"}`,
			"source": map[string]any{"version": "2.7.0.Final", "connector": "mongodb", "name": "m", "ts_ms": 1000000,
				"snapshot": "false", "db": "shop", "collection": "users", "ord": ord},
			"op": "c", "ts_ms": 1000001}
		v, _ := json.Marshal(payload)
		k, _ := json.Marshal(map[string]any{"id": `"` + id + `"`})
		return projector.Record{Topic: "m.shop.users", Key: k, Value: v}
	}
	order := `{"before":null,"after":{"id":1,"user_id":"` + u + `"},"source":{"version":"2.7.3.Final","connector":"postgresql",` +
		`"name":"p","ts_ms":1,"snapshot":"false","db":"p","sequence":"[\"96\",\"100\"]","schema":"public","table":"orders","txId":1,"lsn":100},"op":"c","ts_ms":2}`
	recs := []projector.Record{
		{Topic: "p.public.orders", Key: []byte(`{"id":1}`), Value: []byte(order)},
		mongo(u, 1),
		mongo("not-a-uuid", 2),
	}
	dead := map[string]int{}
	for i, r := range recs {
		r.Offset = int64(i)
		for j, eng := range []*projector.Engine{pgEng, memEng} {
			d, err := eng.Process(context.Background(), []projector.Record{r})
			if err != nil {
				t.Fatal(err)
			}
			if len(d) > 0 {
				dead[fmt.Sprint(j)+"/"+fmt.Sprint(i)]++
			}
		}
	}
	for name, sink := range map[string]*viewSink{"postgres": pgSink, "memory": memSink} {
		d := sink.docs["order_view/1"]
		if got := d.Fields["customer"]; got != "Ada" {
			t.Errorf("%s state: order 1 (user_id %s) has customer %v, want the user with _id %s (the same uuid): Ada",
				name, d.Fields["user_id"], got, u)
		}
	}
	if dead["0/2"] == 0 || dead["1/2"] == 0 {
		t.Errorf("a MongoDB _id declared uuid holding \"not-a-uuid\" was not refused (dead letters %v)", dead)
	}
}
