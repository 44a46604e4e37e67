package projector_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// R34i: MongoDB users joined to PostgreSQL orders through the whole engine.

const r34iCfg = `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  orders: { topic: pg.public.orders, key: id, columns: { id: bigint, user_id: text, status: text } }
  users: { topic: m.shop.users, key: _id, columns: { _id: text, name: text, email: text } }
views:
  order_view:
    from: orders
    fields:
      id: id
      status: status
      customer:
        one: users
        on: { _id: user_id }
        fields: { name: name, email: email }
    sinks: { postgres: {} }
`

// r34iUser2x is a Debezium 2.x change-streams record of shop.users; key is
// the key's id text (Extended JSON as the connector writes it).
func r34iUser2x(op, key, before, after string, ud map[string]any, ts, ord int64, snapshot string) projector.Record {
	payload := map[string]any{
		"before": nil, "after": nil, "updateDescription": nil,
		"source": map[string]any{"version": "2.7.0.Final", "connector": "mongodb", "name": "m", "ts_ms": ts * 1000,
			"snapshot": snapshot, "db": "shop", "collection": "users", "ord": ord},
		"op": op, "ts_ms": ts*1000 + 1,
	}
	if before != "" {
		payload["before"] = before
	}
	if after != "" {
		payload["after"] = after
	}
	if ud != nil {
		payload["updateDescription"] = ud
	}
	v, _ := json.Marshal(payload)
	k, _ := json.Marshal(map[string]any{"id": key})
	return projector.Record{Topic: "m.shop.users", Key: k, Value: v}
}

// r34iUser1x is a Debezium 1.x oplog record of shop.users: after for c/r,
// patch (the oplog's o) and filter for u.
func r34iUser1x(op, key, after, patch, filter string, ts, ord int64) projector.Record {
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
	}
	if filter != "" {
		payload["filter"] = filter
	}
	v, _ := json.Marshal(payload)
	k, _ := json.Marshal(map[string]any{"id": key})
	return projector.Record{Topic: "m.shop.users", Key: k, Value: v}
}

func r34iUD(set string, removed []string, trunc []map[string]any) map[string]any {
	return map[string]any{"updatedFields": set, "removedFields": removed, "truncatedArrays": trunc}
}

func r34iOrder(op string, id int64, user string, lsn int64) projector.Record {
	row := map[string]any{"id": id, "user_id": user, "status": "new"}
	payload := map[string]any{
		"before": nil, "after": row,
		"source": map[string]any{"version": "2.7.0.Final", "connector": "postgresql", "name": "pg", "ts_ms": 1000,
			"snapshot": "false", "db": "shop", "schema": "public", "table": "orders", "lsn": lsn, "txId": lsn},
		"op": op, "ts_ms": 1001,
	}
	if op == "d" {
		payload["before"], payload["after"] = map[string]any{"id": id}, nil
	}
	v, _ := json.Marshal(payload)
	return projector.Record{Topic: "pg.public.orders", Key: []byte(fmt.Sprintf(`{"id":%d}`, id)), Value: v}
}

type r34iResult struct {
	docs map[string]string
	dead []string
}

// r34iRun processes recs through both state kinds, in batches of size
// batch (0: all in one), and returns the live docs of the view.
func r34iRun(t *testing.T, cfg string, recs []projector.Record, batch int) map[string]r34iResult {
	t.Helper()
	pool, _ := testenv.Postgres(t)
	out := map[string]r34iResult{}
	if batch <= 0 {
		batch = len(recs)
	}
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
		res := r34iResult{docs: map[string]string{}}
		for i := 0; i < len(recs); i += batch {
			var b []projector.Record
			for j := i; j < min(i+batch, len(recs)); j++ {
				r := recs[j]
				r.Offset = int64(j)
				b = append(b, r)
			}
			dead, err := eng.Process(context.Background(), b)
			if err != nil {
				t.Fatalf("process: %v", err)
			}
			for _, d := range dead {
				res.dead = append(res.dead, fmt.Sprintf("offset %d: %v", d.Record.Offset, d.Err))
			}
		}
		for id, d := range mem.docs {
			if !d.Deleted {
				b, _ := json.Marshal(d.Fields)
				res.docs[id] = string(b)
			}
		}
		name := "postgres"
		if memory {
			name = "memory"
		}
		out[name] = res
	}
	return out
}

func r34iShow(r r34iResult) string {
	var ks []string
	for k := range r.docs {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var b strings.Builder
	for _, k := range ks {
		fmt.Fprintf(&b, "\n   %s => %s", k, r.docs[k])
	}
	for _, d := range r.dead {
		fmt.Fprintf(&b, "\n   DEAD %s", d)
	}
	return b.String()
}

// r34iWant checks both state kinds against want, and the number of dead
// letters.
func r34iWant(t *testing.T, got map[string]r34iResult, want map[string]string, dead int) {
	t.Helper()
	for _, kind := range []string{"postgres", "memory"} {
		g := got[kind]
		ok := len(g.dead) == dead && len(g.docs) == len(want)
		for id, w := range want {
			if g.docs[id] != w {
				ok = false
			}
		}
		if !ok {
			t.Errorf("%s state:\n got %s\n want (%d dead) %s", kind, r34iShow(g), dead, r34iShow(r34iResult{docs: want}))
		}
	}
}

func r34iOrderDoc(id int64, name, email string) string {
	c := "null"
	if name != "" || email != "" {
		b, _ := json.Marshal(map[string]any{"email": email, "name": name})
		c = string(b)
	}
	return fmt.Sprintf(`{"customer":%s,"id":%d,"status":"new"}`, c, id)
}

const r34iHex = "6811137d0c9f202a34d861e0"

var r34iOID = `{"$oid": "` + r34iHex + `"}`

const r34iNumCfg = `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  users: { topic: m.shop.users, key: _id, columns: { _id: text, name: text, profile: jsonb } }
views:
  user_view:
    from: users
    fields: { id: _id, name: name, profile: profile }
    sinks: { postgres: {} }
`
