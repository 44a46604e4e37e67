package config

import (
	"strings"
	"testing"
)

// TestViewTableNamedLikeOwnRelation: tables, indexes and sequences share a
// schema's namespace, so a view table in projector's schema named like the
// primary key of one of its tables, or its sequence, would make CREATE
// TABLE fail at run. validate refuses it at the table, as it refuses a
// view table named like one of projector's tables; a name merely ending
// in _pkey is fine.
func TestViewTableNamedLikeOwnRelation(t *testing.T) {
	for _, tc := range []struct {
		table   string
		refused bool
	}{
		{"revs_pkey", true},
		{"pending_batches_id_seq", true},
		{"generations_one_active", true},
		{"revs", true},
		{"order_pkey", false},
		{"order_view", false},
	} {
		doc := `version: 1
kafka: { brokers: "localhost:9092" }
stores:
  postgres: { url: "postgres://h/db" }
sources:
  orders:
    topic: shop.public.orders
    key: id
    columns: { id: bigint }
views:
  order_view:
    from: orders
    fields: { id: id }
    sinks:
      postgres: { schema: projector, table: ` + tc.table + ` }
`
		_, err := Parse("p.yaml", []byte(doc), func(string) (string, bool) { return "", false })
		switch {
		case tc.refused && (err == nil || !strings.Contains(err.Error(), `p.yaml:15:45: postgres sink of view "order_view": table "`+tc.table+`" is named like one of projector's own tables or indexes in schema "projector"`)):
			t.Errorf("table %s: got %v, want it refused at its line:col as one of projector's own", tc.table, err)
		case !tc.refused && err != nil:
			t.Errorf("table %s: %v", tc.table, err)
		}
	}
}
