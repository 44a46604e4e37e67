package query_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/kafkautil"
)

const aggStoresYAML = `
version: 1
kafka: { brokers: "${BROKERS}", group: aggstores-test }
stores:
  postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }
  elasticsearch: { url: "${ES}" }
sources:
  orders:
    topic: app.public.orders
    key: id
    columns: { id: bigint, user_id: text, region: text, total: "numeric(10,2)", status: text, at: timestamptz }
views:
  s_pg:
    from: orders
    where: status != "cancelled"
    group_by: [user_id, region]
    fields: &f
      user_id: user_id
      region: region
      n: { agg: count }
      sum: { agg: sum, of: total }
      avg: { agg: avg, of: total }
      last: { agg: max, of: at }
      paid: { agg: sum, of: total, where: status == "paid" }
    sinks:
      postgres: { table: s_pg }
  s_r:
    from: orders
    where: status != "cancelled"
    group_by: [user_id, region]
    fields: *f
    sinks:
      redis: { key: "${PREFIX}r:{user_id}:{region}" }
  s_h:
    from: orders
    where: status != "cancelled"
    group_by: [user_id, region]
    fields: *f
    sinks:
      redis: { key: "${PREFIX}h:{user_id}:{region}", format: hash }
  s_es:
    from: orders
    where: status != "cancelled"
    group_by: [user_id, region]
    fields: *f
    sinks:
      elasticsearch: { index: s }
`

var aggStoresTopics = []string{"app.public.orders"}

// An aggregation view with a composite group key (text with special
// characters) reads the same from every store through the query API, and a
// group emptied by the view's where is gone from every store.
func TestAggGroupDocsAcrossStores(t *testing.T) {
	s := newShop(t, shopOptions{yaml: aggStoresYAML, topics: aggStoresTopics})
	wait := func() {
		t.Helper()
		if err := kafkautil.WaitCaughtUp(context.Background(), s.adm, s.cfg.Kafka.Group, 60*time.Second, aggStoresTopics...); err != nil {
			t.Fatal(err)
		}
	}
	user, region := `a&b <"x">/ é`, "eu"
	o := func(id int64, status, total, at string) {
		s.write("app.public.orders", row{"id": id}, "u", row{"id": id, "user_id": user, "region": region, "status": status, "total": json.Number(total), "at": at})
	}
	o(1, "paid", "10.00", "2024-01-01T00:00:00.5Z")
	o(2, "shipped", "5.50", "2024-01-01T00:00:01Z")
	wait()
	idJSON, _ := json.Marshal([]string{user, region})
	id := url.PathEscape(string(idJSON))
	want := `{"avg":7.75,"last":"2024-01-01T00:00:01Z","n":2,"paid":10.00,"region":"eu","sum":15.50,"user_id":"a\u0026b \u003c\"x\"\u003e/ é"}`
	read := func() map[string]string {
		out := map[string]string{}
		for _, v := range []string{"s_pg", "s_r", "s_h"} {
			st, body := callRaw(t, s.http.URL, "/v1/views/"+v+"/docs/"+id)
			if st != http.StatusOK {
				out[v] = "status " + http.StatusText(st) + ": " + body
				continue
			}
			out[v] = canonicalJSON(t, body)
		}
		st, body := call(t, s.http.URL, "/v1/views/s_es/search?min_position=orders:0/0")
		if st != http.StatusOK {
			out["s_es"] = "status " + http.StatusText(st)
		} else if l := docs(body); len(l) == 1 {
			b, _ := json.Marshal(l[0])
			out["s_es"] = canonicalJSON(t, string(b))
		} else {
			out["s_es"] = jsonText(l)
		}
		return out
	}
	for v, got := range read() {
		if got != want {
			t.Errorf("%s: %s\nwant %s", v, got, want)
		}
	}
	o(1, "cancelled", "10.00", "2024-01-01T00:00:00.5Z")
	o(2, "cancelled", "5.50", "2024-01-01T00:00:01Z")
	wait()
	for v, got := range read() {
		if v == "s_es" && got != "[]" || v != "s_es" && got[:6] != "status" {
			t.Errorf("emptied group: %s still reads %s", v, got)
		}
	}
}

// canonicalJSON re-encodes a JSON object with sorted keys, numbers as written.
func canonicalJSON(t *testing.T, s string) string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return "not an object: " + s
	}
	for _, k := range []string{"_rev", "_position", "_id", "id"} {
		delete(m, k)
	}
	b, _ := json.Marshal(m)
	return string(b)
}
