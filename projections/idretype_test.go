package projections_test

import (
	"strings"
	"testing"
)

// TestLossyIDRetypeRefused: an id field (a group_by column's, or the
// key's) that retypes its column into fewer values is refused: two groups
// of 10:00 and 11:00 on one day would be two documents, which PostgreSQL,
// keyed by the date, holds as one. Retypes that keep every value distinct
// pass.
func TestLossyIDRetypeRefused(t *testing.T) {
	for _, c := range []struct {
		from, to string
		refused  bool
	}{
		{"timestamptz", "date", true},
		{`"numeric(10,2)"`, `"numeric(10,1)"`, true},
		{"bigint", "smallint", true},
		{"text", `"varchar(3)"`, true},
		{"bigint", "text", false},
		{"integer", "bigint", false},
		{"timestamptz", "timestamp", false},
		{"date", "timestamptz", false},
		{"uuid", "text", false},
	} {
		yaml := `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "${PROJECTOR_POSTGRES_URL}" } }
sources:
  o: { topic: t.o, key: id, columns: { id: bigint, g: ` + c.from + ` } }
views:
  by_g:
    from: o
    group_by: [g]
    fields:
      g: { column: g, type: ` + c.to + ` }
      n: { agg: count }
    sinks: { postgres: {} }
`
		_, err := compile(t, yaml)
		switch {
		case c.refused && (err == nil || !strings.Contains(err.Error(), `id field "g" retypes column "g"`)):
			t.Errorf("%s as %s: %v, want refused", c.from, c.to, err)
		case !c.refused && err != nil:
			t.Errorf("%s as %s: %v, want it accepted", c.from, c.to, err)
		}
	}
}
