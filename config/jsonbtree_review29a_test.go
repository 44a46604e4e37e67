package config

import (
	"strings"
	"testing"
)

// R29aJSONViewFile is a view of a MongoDB collection with a compound _id
// declared json (README: compound ids such as {a: 1, b: 2} exist), and a
// PostgreSQL sink; index is the sink's indexes entry, if any.
func R29aJSONViewFile(idType, index string) string {
	return `version: 1
kafka: { brokers: "localhost:9092" }
stores:
  postgres: { url: "postgres://h/db" }
sources:
  events:
    topic: shopmongo.shop.events
    key: _id
    columns: { _id: ` + idType + `, name: text, payload: json }
views:
  event_view:
    from: events
    fields:
      id: _id
      name: name
      payload: payload
    sinks:
      postgres:
        table: event_view
` + index
}

// TestR29aJSONColumnsPostgresCannotIndex: the type json (unlike jsonb)
// has no btree operator class in PostgreSQL. A view whose id is a json
// field makes the sink's CREATE TABLE … PRIMARY KEY fail ("data type json
// has no default operator class for access method "btree"", 42704), and
// so does a declared index on a json field (CREATE INDEX): `projector run`
// stops at its migration, every view of the file with it, while `projector
// validate` said "ok". README (Commands): validate reports "every problem,
// of structure and of the views' meaning" as file:line:col; it already
// refuses json where its text would mislead (group_by), but not where
// PostgreSQL refuses it outright.
func TestR29aJSONColumnsPostgresCannotIndex(t *testing.T) {
	for _, tc := range []struct{ name, doc string }{
		{"json id", R29aJSONViewFile("json", "")},
		{"index on a json field", R29aJSONViewFile("text", "        indexes:\n          - { fields: [payload] }\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(tc.doc), func(string) (string, bool) { return "", false })
			if err == nil {
				t.Fatalf("validate accepts a file whose PostgreSQL view table PostgreSQL refuses (a btree over a json column):\n%s", tc.doc)
			}
			if !strings.Contains(err.Error(), "p.yaml:") {
				t.Errorf("not reported at a position in the file:\n%v", err)
			}
		})
	}
}
