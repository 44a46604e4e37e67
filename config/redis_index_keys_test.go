package config

import (
	"strings"
	"testing"
)

// TestRedisIndexKeysMeetOtherKeys: the key templates of Redis indexes
// (sorted sets) are held to the rules of documents' keys. An index key of
// one view must not be another view's document key (view users' doc
// "user:5:orders" would be the sorted set orders keeps for customer 5: SET
// over the ZSET, or ZADD on a string, WRONGTYPE), and an index key
// "{customer.id}" would let a document ZADD into any key of the database.
func TestRedisIndexKeysMeetOtherKeys(t *testing.T) {
	const head = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://localhost/x" }, redis: { url: "redis://localhost:6379" } }
sources:
  orders: { topic: o, key: id }
  users: { topic: u, key: id }
views:
`
	for _, tc := range []struct{ name, views string }{
		{"index key of one view is a doc key of another", `
  orders:
    from: orders
    fields: { id: id, customer_id: customer_id, created_at: created_at }
    sinks:
      redis:
        key: "order:{id}"
        indexes:
          - { key: "user:{customer_id}:orders", score: created_at }
  user_orders:
    from: users
    fields: { id: id }
    sinks: { redis: { key: "user:{id}:orders" } }
`},
		{"index key starting with a placeholder", `
  orders:
    from: orders
    fields: { id: id, customer_id: customer_id, created_at: created_at }
    sinks:
      redis:
        key: "order:{id}"
        indexes:
          - { key: "{customer_id}", score: created_at }
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(head+strings.TrimPrefix(tc.views, "\n")), lookupTestEnv)
			if err == nil {
				t.Errorf("accepted: Redis keys of the two templates can meet")
			}
		})
	}
}
