package projector_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"testing"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

const groupNestedYAML = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://unused/x" } }
sources:
  orders: { topic: t.public.orders, format: json, key: id, columns: { id: bigint, user_id: text, status: text } }
  users: { topic: t.public.users, format: json, key: id, columns: { id: text, name: text, company_id: bigint } }
  companies: { topic: t.public.companies, format: json, key: id, columns: { id: bigint, name: text } }
  tags: { topic: t.public.tags, format: json, key: id, columns: { id: bigint, user_id: text, tag: text } }
views:
  stats:
    from: orders
    group_by: [status, user_id]
    fields:
      status: status
      user_id: user_id
      n: { agg: count }
      user:
        one: users
        on: { id: user_id }
        fields:
          name: name
          company: { one: companies, on: { id: company_id }, column: name }
          tags: { many: tags, on: { user_id: id }, order_by: [tag], fields: { tag: tag } }
          ntags: { agg: count, of: tags }
      label: { expr: 'user_id + "/" + string(n)', type: text }
    sinks: { postgres: {} }
`

// TestGroupJoinsNestJoins: a group_by view's joined row embeds joins of
// its own (the user's company, the user's tags): a change of a company or
// a tag reaches every group of the users that embed it, through the
// users, with chunks of two documents so that the fan-out pages. Random
// changes (moved foreign keys, deletes, rows created again), on
// PostgreSQL and in memory, end where a plain join of the final rows does.
func TestGroupJoinsNestJoins(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, groupNestedYAML, nil)
	ctx := t.Context()
	pgSink, memSink := newViewSink(), newViewSink()
	pgEng, err := projector.New(projector.Options{Plan: plan, Pool: pool, ChunkDocs: 2, Sinks: []projector.Route{{Sink: pgSink, Views: viewNames(plan)}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := pgEng.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	memEng, err := projector.New(projector.Options{Plan: plan, Memory: true, ChunkDocs: 2, Sinks: []projector.Route{{Sink: memSink, Views: viewNames(plan)}}})
	if err != nil {
		t.Fatal(err)
	}
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 32))
	t.Logf("seed %d", seed)
	rows := map[string]map[string]map[string]any{"orders": {}, "users": {}, "companies": {}, "tags": {}}
	pos := int64(0)
	pick := func(vals ...any) any { return vals[rng.IntN(len(vals))] }
	for range 300 {
		src := pick("orders", "orders", "users", "companies", "tags", "tags").(string)
		id := strconv.Itoa(rng.IntN(12))
		var row map[string]any
		switch src {
		case "orders":
			row = map[string]any{"id": json.Number(id), "user_id": pick("u1", "u2", "u3", nil), "status": pick("paid", "open")}
		case "users":
			id = pick("u1", "u2", "u3").(string)
			row = map[string]any{"id": id, "name": pick("Ada", "Bob", nil), "company_id": pick(json.Number("1"), json.Number("2"), nil)}
		case "companies":
			id = strconv.Itoa(1 + rng.IntN(2))
			row = map[string]any{"id": json.Number(id), "name": pick("Acme", "Initech", "Hooli")}
		case "tags":
			row = map[string]any{"id": json.Number(id), "user_id": pick("u1", "u2", "u3"), "tag": pick("a", "b", "c", nil)}
		}
		pos++
		ch := debezium.Change{Kind: debezium.KindChange, Op: debezium.OpUpdate, Position: debezium.Position{Lo: pos}, After: row}
		if rng.IntN(5) == 0 {
			ch = debezium.Change{Kind: debezium.KindChange, Op: debezium.OpDelete, Position: debezium.Position{Lo: pos}, Before: map[string]any{"id": row["id"]}}
			delete(rows[src], id)
		} else {
			rows[src][id] = row
		}
		for _, eng := range []*projector.Engine{pgEng, memEng} {
			if err := eng.ProcessChanges(ctx, src, []debezium.Change{ch}); err != nil {
				t.Fatal(err)
			}
		}
	}

	want := groupNestedOracle(rows)
	for name, sink := range map[string]*viewSink{"postgres": pgSink, "memory": memSink} {
		got := map[string]string{}
		sink.mu.Lock()
		for k, d := range sink.docs {
			if !d.Deleted {
				got[k] = canonicalJSON(t, d.Fields)
			}
		}
		sink.mu.Unlock()
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s (seed %d): %s = %s\nwant %s", name, seed, k, got[k], w)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("%s (seed %d): %s = %s, want no document", name, seed, k, got[k])
			}
		}
	}
}

// groupNestedOracle is the stats view by plain joins over the final rows.
func groupNestedOracle(rows map[string]map[string]map[string]any) map[string]string {
	counts := map[[2]string]int{}
	for _, o := range rows["orders"] {
		u, ok := o["user_id"].(string)
		if !ok {
			continue
		}
		counts[[2]string{o["status"].(string), u}]++
	}
	out := map[string]string{}
	for g, n := range counts {
		doc := map[string]any{"status": g[0], "user_id": g[1], "n": n, "label": fmt.Sprintf("%s/%d", g[1], n), "user": nil}
		if u, ok := rows["users"][g[1]]; ok {
			var company any
			if c, ok := u["company_id"].(json.Number); ok {
				if row, ok := rows["companies"][c.String()]; ok {
					company = row["name"]
				}
			}
			type tagRow struct {
				key string
				tag any
			}
			var ts []tagRow
			for key, tr := range rows["tags"] {
				if tr["user_id"] == g[1] {
					ts = append(ts, tagRow{key, tr["tag"]})
				}
			}
			sort.Slice(ts, func(i, j int) bool {
				a, aok := ts[i].tag.(string)
				b, bok := ts[j].tag.(string)
				switch {
				case aok != bok:
					return aok // nulls last
				case aok && a != b:
					return a < b
				}
				return ts[i].key < ts[j].key
			})
			tags := []any{}
			for _, x := range ts {
				tags = append(tags, map[string]any{"tag": x.tag})
			}
			doc["user"] = map[string]any{"name": u["name"], "company": company, "tags": tags, "ntags": len(tags)}
		}
		id, _ := json.Marshal([]string{g[0], g[1]})
		out["stats/"+string(id)] = canonicalJSONValue(doc)
	}
	return out
}

func canonicalJSON(t *testing.T, v any) string {
	t.Helper()
	return canonicalJSONValue(v)
}

// canonicalJSONValue is v's JSON with numbers as floats and keys sorted.
func canonicalJSONValue(v any) string {
	b, _ := json.Marshal(v)
	var x any
	_ = json.Unmarshal(b, &x)
	b, _ = json.Marshal(x)
	return string(b)
}
