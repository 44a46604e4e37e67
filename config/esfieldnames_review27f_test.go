package config

import (
	"strings"
	"testing"
)

// TestR27fElasticsearchMetadataFieldNames: a view's top-level field named
// like one of Elasticsearch's metadata fields ("_id", the key of every
// MongoDB collection and so the natural name of a field mapping it) makes
// the view's index template one Elasticsearch 8 refuses: its mapping
// defines "_id" a second time (MappingLookup: "Field [_id] is defined more
// than once"), PUT _index_template answers 400, the sink's Setup fails, and
// `projector run` exits at start (internal/stack/stack.go: a Setup error
// that is no outage is fatal), with every view of the file stopped; were
// the template put, Elasticsearch would refuse every document of the view
// anyway ("Field [_id] is a metadata field and cannot be added inside a
// document"). The same holds for "_deleted_at", which the sink writes into
// every tombstone and maps as a date over the view's own field (mapping.go
// templateBody). README (Commands): validate reports "every problem, of
// structure and of the views' meaning"; config/doc.go already refuses the
// names the other sinks add (_rev, _deleted, _updated_at). validate
// accepts these files.
func TestR27fElasticsearchMetadataFieldNames(t *testing.T) {
	for _, tc := range []struct{ field, column string }{
		{"_id", "_id"},
		{"_routing", "name"},
		{"_deleted_at", "name"},
	} {
		t.Run(tc.field, func(t *testing.T) {
			doc := `version: 1
kafka: { brokers: "localhost:9092" }
stores:
  postgres: { url: "postgres://h/db" }
  elasticsearch: { url: "http://es.internal:9200" }
sources:
  users:
    topic: shopmongo.shop.users
    key: _id
    columns: { _id: text, name: text }
views:
  user_view:
    from: users
    fields:
      ` + tc.field + `: ` + tc.column + `
      email: name
    sinks:
      elasticsearch: { index: users }
`
			_, err := Parse("p.yaml", []byte(doc), func(string) (string, bool) { return "", false })
			if err == nil {
				t.Fatalf("validate accepts a view field %q with an elasticsearch sink, whose index template or documents Elasticsearch refuses", tc.field)
			}
			if !strings.Contains(err.Error(), "p.yaml:15:") {
				t.Errorf("not reported at the field (line 15):\n%v", err)
			}
		})
	}
}
