package config

import (
	"strings"
	"testing"
)

// TestR32jEnvValueNeverShown: config/doc.go (Interpolation) promises "A
// value that came from the environment is never shown in a message
// ("value from ${NAME}")". Some messages of the validator hide the value
// they are about but quote another value from the environment: the
// group_by columns a column is not among, the fields a postgres sink
// keeps, the Elasticsearch type a mapping gives; and one that hides
// nothing: a refresh under 1s is shown as parsed.
func TestR32jEnvValueNeverShown(t *testing.T) {
	const head = `version: 1
kafka: { brokers: "localhost:9092" }
stores:
  postgres: { url: "postgres://localhost/shop" }
  elasticsearch: { url: "http://localhost:9200" }
sources:
  orders: { topic: shop.public.orders, key: id, columns: { id: bigint, user_id: bigint, total: bigint } }
views:
`
	for _, tc := range []struct {
		name, value, views string
	}{
		{"group_by", "qx32jgroupcol", `  per_user:
    from: orders
    group_by: "${V}, user_id"
    fields: { user_id: user_id, total: total }
    sinks: { postgres: {} }
`},
		{"postgres sink fields", "qx32jkeptfield", `  order_view:
    from: orders
    fields: { id: id, total: total }
    sinks: { postgres: { fields: "id, ${V}", indexes: [{ fields: [total] }] } }
`},
		{"elasticsearch mapping type", "keywordq", `  order_view:
    from: orders
    fields: { id: id, total: total }
    sinks: { elasticsearch: { mappings: { total: { type: "${V}" } } } }
`},
		{"refresh", "317ms", `  order_view:
    from: orders
    refresh: "${V}"
    fields: { id: id, total: total }
    sinks: { postgres: {} }
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := func(name string) (string, bool) {
				if name == "V" {
					return tc.value, true
				}
				return "", false
			}
			_, err := Parse("p.yaml", []byte(head+tc.views), env)
			if err == nil {
				t.Fatal("Parse accepted the file; want an error")
			}
			if strings.Contains(err.Error(), tc.value) {
				t.Errorf("an error shows %q, the value of ${V} from the environment:\n%v", tc.value, err)
			}
		})
	}
}
