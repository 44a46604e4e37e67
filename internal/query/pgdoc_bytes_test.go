package query_test

import (
	"net/http"
	"testing"
)

// TestPostgresDocsBytesAndNestedNumbersReadAsTheEngineWrote: read from
// PostgreSQL, a bytea column (and a bytea[]'s items) reads as the engine
// writes bytes, standard base64 with padding ("AQI=" for 01 02), not
// to_jsonb's hex "\\x0102"; the numerics the engine wrote as strings into
// an embedded object's jsonb ("7.50", ["1.50"]) read as numbers, as from
// Redis and Elasticsearch; a numeric[] column reads as numbers.
func TestPostgresDocsBytesAndNestedNumbersReadAsTheEngineWrote(t *testing.T) {
	l := newLite(t, `
version: 1
kafka: { brokers: "localhost:1", group: lite }
stores:
  postgres: { url: "${PG}" }
sources:
  items:
    topic: app.public.items
    key: id
    columns: { id: bigint, bin: bytea, bins: "bytea[]", nums: "numeric(10,2)[]", user_id: text }
  users:
    topic: app.public.users
    key: id
    columns: { id: text, balance: "numeric(10,2)", scores: "numeric(10,2)[]", note: text }
views:
  items:
    from: items
    fields:
      id: id
      bin: bin
      bins: bins
      nums: nums
      user: { one: users, on: { id: user_id }, fields: { id: id, balance: balance, scores: scores, note: note } }
    sinks:
      postgres: { table: items }
`, `CREATE TABLE items (id bigint PRIMARY KEY, bin bytea, bins bytea[], nums numeric(10,2)[], "user" jsonb)`)
	l.exec(t, `INSERT INTO items VALUES
		(1, '\x0102', ARRAY['\x0102'::bytea, NULL, ''::bytea, '\xfbff'::bytea], '{1.50,2.00,NaN}',
		    '{"id":"u1","balance":"7.50","scores":["1.50",null],"note":"7.50"}'),
		(2, NULL, NULL, NULL, NULL)`)
	want := map[string]string{
		"bin":  `"AQI="`,
		"bins": `["AQI=",null,"","+/8="]`,
		"nums": `[1.50,2.00,"NaN"]`,
		"user": `{"balance":7.50,"id":"u1","note":"7.50","scores":[1.50,null]}`,
	}
	check := func(what string, doc map[string]any) {
		t.Helper()
		for k, w := range want {
			if got := jsonText(doc[k]); got != w {
				t.Errorf("%s: %s = %s, want %s", what, k, got, w)
			}
		}
	}
	st, body := call(t, l.url, "/v1/views/items/docs/1")
	if st != http.StatusOK {
		t.Fatalf("get: %d %v", st, body)
	}
	check("get", body)
	st, body = call(t, l.url, "/v1/views/items/docs?sort=id")
	if st != http.StatusOK || len(docs(body)) != 2 {
		t.Fatalf("list: %d %v", st, body)
	}
	check("list", docs(body)[0])
	for _, k := range []string{"bin", "bins", "nums", "user"} {
		if v, ok := docs(body)[1][k]; !ok || v != nil {
			t.Errorf("list: doc 2: %s = %v, want null", k, v)
		}
	}
}
