package config

import (
	"strings"
	"testing"
)

// TestR30nSourceNamedColumns: a source's state table is
// <stores.postgres.schema>.state_<source>, and projector keeps its own
// table state_columns in that schema (projector/migrate.go). A source
// named `columns` — a valid source name, and a plausible one (a CMS's
// "columns" table, a spreadsheet app's) — has the state table
// state_columns: CREATE TABLE IF NOT EXISTS is a no-op on projector's own
// table, and the tombstone index on (key) WHERE deleted then fails, so
// `projector run` stops at "migrate state: ERROR: column "deleted" does
// not exist (SQLSTATE 42703)" for every view of the file. validate accepts
// it; it already refuses a view table named like projector's own tables
// (IsOwnTable), and must refuse such a source name at its key.
func TestR30nSourceNamedColumns(t *testing.T) {
	doc := `version: 1
kafka: { brokers: "localhost:9092" }
stores:
  postgres: { url: "postgres://h/db" }
sources:
  columns:
    topic: cms.public.columns
    key: id
    columns: { id: bigint, name: text }
views:
  column_view:
    from: columns
    fields: { id: id, name: name }
    sinks:
      postgres: { table: column_view }
`
	_, err := Parse("p.yaml", []byte(doc), func(string) (string, bool) { return "", false })
	if err == nil {
		t.Fatal("validate accepts a source named \"columns\", whose state table state_columns is projector's own table: `projector run` fails at its migration")
	}
	if !strings.Contains(err.Error(), "p.yaml:6:3") {
		t.Errorf("not reported at the source's name (6:3):\n%v", err)
	}
}
