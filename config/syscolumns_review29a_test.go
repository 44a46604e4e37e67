package config

import (
	"strings"
	"testing"
)

// TestR29aSystemColumnNameWithPostgresSink: a view field named like one of
// PostgreSQL's system columns (xmin, xmax, cmin, cmax, ctid, tableoid: a
// bounding box's xmin/xmax is a plausible pair) cannot be a column of the
// view's table: CREATE TABLE fails with "column name "xmin" conflicts with
// a system column name" (42701), so `projector run` stops at its migration
// and every view of the file with it. README (Commands): validate reports
// "every problem, of structure and of the views' meaning ... as
// file:line:col"; it accepts this file (offline and, with no table yet,
// online too), as it already refuses _rev, _deleted and _updated_at.
func TestR29aSystemColumnNameWithPostgresSink(t *testing.T) {
	for _, field := range []string{"xmin", "xmax", "ctid", "tableoid"} {
		t.Run(field, func(t *testing.T) {
			doc := `version: 1
kafka: { brokers: "localhost:9092" }
stores:
  postgres: { url: "postgres://h/db" }
sources:
  areas:
    topic: geo.public.areas
    key: id
    columns: { id: bigint, lo: double precision }
views:
  area_view:
    from: areas
    fields:
      id: id
      ` + field + `: lo
    sinks:
      postgres: { table: area_view }
`
			_, err := Parse("p.yaml", []byte(doc), func(string) (string, bool) { return "", false })
			if err == nil {
				t.Fatalf("validate accepts a view field %q with a postgres sink, a name PostgreSQL refuses as a table column", field)
			}
			if !strings.Contains(err.Error(), "p.yaml:15:") {
				t.Errorf("not reported at the field (line 15):\n%v", err)
			}
		})
	}
}
