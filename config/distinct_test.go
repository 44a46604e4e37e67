package config

import (
	"strings"
	"testing"
)

// TestListedTwice: a key column, an id field, a group_by column or a kept
// field named twice is refused at the second one, which the stores would
// refuse at start.
func TestListedTwice(t *testing.T) {
	base := `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://x/y" }, redis: { url: "redis://x" } }
sources:
  orders: { topic: t.o, key: KEY, columns: { id: bigint, status: text } }
views:
  v:
    from: orders
    VIEW
    sinks: { postgres: { PG }, redis: { key: "v:{id}" REDIS } }
`
	for _, tc := range []struct {
		name, key, view, pg, redis, want string
	}{
		{"source key", "[id, id]", "fields: { id: id }", "", "", `5:35: source "orders": key: "id" is listed twice (first at 5:31)`},
		{"view id", "id", "id: [id, id]\n    fields: { id: id }", "", "", `9:14: view "v": id: "id" is listed twice (first at 9:10)`},
		{"group_by", "id", "group_by: [status, status]\n    fields: { status: status, n: { agg: count } }", "", "", `9:24: view "v": group_by: "status" is listed twice (first at 9:16)`},
		{"postgres fields", "id", "fields: { id: id, status: status }", "fields: [id, status, status]", "", `is listed twice`},
		{"redis fields", "id", "fields: { id: id, status: status }", "", ", fields: [status, status]", `is listed twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.NewReplacer("KEY", tc.key, "VIEW", tc.view, "PG", tc.pg, "REDIS", tc.redis).Replace(base)
			if tc.name == "group_by" {
				doc = strings.Replace(doc, `key: "v:{id}"`, `key: "v:{status}"`, 1)
			}
			_, err := Parse("p.yaml", []byte(doc), lookupTestEnv)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("errors:\n%v\nwant one containing %q", err, tc.want)
			}
		})
	}
}
