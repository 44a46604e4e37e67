package elasticsearch

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/projectorhq/projector/sinks"
)

// TestElasticsearchWideViewSetsUp: a view of 600 text fields maps 1200
// fields (each text with its .keyword), over Elasticsearch's default
// index.mapping.total_fields.limit (1000), which it counts when it
// validates a template and when it creates an index. The view's template
// raises the limit for its own fields and keeps room for dynamic ones, so
// the view sets up and takes documents, new fields included.
func TestElasticsearchWideViewSetsUp(t *testing.T) {
	const n = 600
	fields := []Field{{"id", "bigint"}, {"extra", "unknown"}}
	doc := map[string]any{"id": json.Number("1"), "extra": map[string]any{"a": "x", "b": json.Number("2")}}
	for i := range n {
		name := fmt.Sprintf("c%d", i)
		fields = append(fields, Field{name, "text"})
		doc[name] = "v"
	}
	forEachBackend(t, func(t *testing.T, b *backend) {
		s := b.newSink(t, nil, View{Name: "wide", Fields: fields})
		err := s.Write(context.Background(), []sinks.Doc{{View: "wide", ID: "1", Key: map[string]any{"id": json.Number("1")}, Rev: 1, Fields: doc}})
		if err != nil {
			t.Fatalf("Write: %v", err)
		}
		if got, ok := visible(t, b, b.prefix+"wide"); !ok || got.source["c599"] != "v" {
			t.Fatalf("doc = %v (visible %t), want written", got.source, ok)
		}
	})
}

// TestTemplateTotalFieldsLimit: the limit is the generated fields, object
// and multi-fields included, plus room for dynamic ones.
func TestTemplateTotalFieldsLimit(t *testing.T) {
	v := View{Name: "v", Alias: "v", Fields: []Field{{"id", "bigint"}, {"title", "text"}, {"doc", "jsonb"}},
		Mappings: map[string]any{"doc.email": map[string]any{"type": "keyword"}}}
	tmpl, err := templateBody(&v)
	if err != nil {
		t.Fatal(err)
	}
	settings := tmpl["template"].(map[string]any)["settings"].(map[string]any)
	// id, title, title.keyword, doc, doc.email, _deleted, _deleted_at.
	if got, want := settings["index.mapping.total_fields.limit"], 7+dynamicFields; got != want {
		t.Errorf("index.mapping.total_fields.limit = %v, want %d", got, want)
	}
}
