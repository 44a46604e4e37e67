package query_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/kafkautil"
)

// crossStoreYAML projects one source into four views of the same fields, one
// per way of reading a doc: PostgreSQL (get and list), Redis JSON, Redis
// hash, Elasticsearch (search).
const crossStoreYAML = `
version: 1
kafka: { brokers: "${BROKERS}", group: crossstore-test }
stores:
  postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }
  elasticsearch: { url: "${ES}" }
sources:
  items:
    topic: app.public.items
    key: id
    columns: { id: bigint, price: "numeric(10,2)", nums: "numeric(10,2)[]", day: date, meta: jsonb, bin: bytea, n: integer, user_id: text }
  users:
    topic: app.public.users
    key: id
    columns: { id: text, balance: "numeric(10,2)" }
views:
  it_pg:
    from: items
    fields: &f
      id: id
      price: price
      nums: nums
      day: day
      meta: meta
      bin: bin
      n: n
      user: { one: users, on: { id: user_id }, fields: { id: id, balance: balance } }
    sinks:
      postgres: { table: it_pg }
  it_r:
    from: items
    fields: *f
    sinks:
      redis: { key: "${PREFIX}r:{id}" }
  it_h:
    from: items
    fields: *f
    sinks:
      redis: { key: "${PREFIX}h:{id}", format: hash }
  it_es:
    from: items
    fields: *f
    sinks:
      elasticsearch: { index: it }
`

var crossStoreTopics = []string{"app.public.items", "app.public.users"}

// newCrossStoreStack is newShop over crossStoreYAML: the engine (kfake,
// PostgreSQL, Redis, esfake) and the query API.
func newCrossStoreStack(t *testing.T) *shop {
	t.Helper()
	return newShop(t, shopOptions{yaml: crossStoreYAML, topics: crossStoreTopics})
}

// crossStoreItem writes item 1 (and its user) and waits until every store has it.
func crossStoreItem(t *testing.T, item row) *shop {
	t.Helper()
	s := newCrossStoreStack(t)
	s.write("app.public.users", row{"id": "u1"}, "c", row{"id": "u1", "balance": 7.5})
	item["id"] = 1
	item["user_id"] = "u1"
	s.write("app.public.items", row{"id": 1}, "c", item)
	if err := kafkautil.WaitCaughtUp(context.Background(), s.adm, s.cfg.Kafka.Group, 60*time.Second, crossStoreTopics...); err != nil {
		t.Fatal(err)
	}
	return s
}

// crossStoreDocs reads doc 1 every way: get from PostgreSQL, list from
// PostgreSQL, get from Redis JSON, get from a Redis hash, search (after a
// refresh through min_position).
func crossStoreDocs(t *testing.T, s *shop) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for name, path := range map[string]string{
		"get (PostgreSQL)":       "/v1/views/it_pg/docs/1",
		"list (PostgreSQL)":      "/v1/views/it_pg/docs",
		"get (Redis JSON)":       "/v1/views/it_r/docs/1",
		"get (Redis hash)":       "/v1/views/it_h/docs/1",
		"search (Elasticsearch)": "/v1/views/it_es/search?min_position=items:0/0",
	} {
		st, body := call(t, s.http.URL, path)
		mustStatus(t, path, st, http.StatusOK, body)
		if strings.Contains(path, "/docs/") {
			out[name] = body
			continue
		}
		l := docs(body)
		if len(l) != 1 {
			t.Fatalf("%s: %v", path, body)
		}
		out[name] = l[0]
	}
	return out
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// sameEverywhere checks that the field at path reads the same from every store.
func sameEverywhere(t *testing.T, all map[string]map[string]any, path ...string) {
	t.Helper()
	var first, firstName string
	for _, name := range []string{"get (PostgreSQL)", "list (PostgreSQL)", "get (Redis JSON)", "get (Redis hash)", "search (Elasticsearch)"} {
		var v any = all[name]
		present := true
		for _, p := range path {
			m, _ := v.(map[string]any)
			v, present = m[p]
		}
		got := jsonText(v)
		if !present {
			got = "(absent)"
		}
		if firstName == "" {
			first, firstName = got, name
			continue
		}
		if got != first {
			t.Errorf("%s: %s reads %s, %s reads %s", strings.Join(path, "."), firstName, first, name, got)
		}
	}
}
