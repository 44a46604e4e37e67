package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks/elasticsearch"
)

// esMappingFile is a view with fields of every kind and an Elasticsearch
// sink whose mappings: are the given YAML lines; a view of a source of
// undeclared columns has an id and a field x.
func esMappingFile(mappings string) string {
	return `version: 1
kafka: { brokers: "localhost:9092" }
stores:
  postgres: { url: "postgres://h/db" }
  elasticsearch: { url: "http://localhost:9200" }
sources:
  orders:
    topic: shop.public.orders
    key: id
    columns: { id: bigint, status: text, doc: jsonb, raws: "json[]", user_id: bigint }
  users:
    topic: shop.public.users
    key: id
    columns: { id: bigint, name: text, prefs: jsonb }
  loose: { topic: shop.public.loose, key: id }
views:
  v:
    from: orders
    fields:
      id: id
      status: status
      doc: doc
      raws: raws
      label: { expr: "status + '!'", type: text }
      cname: { one: users, on: { id: user_id }, column: name }
      cprefs: { one: users, on: { id: user_id }, column: prefs }
      customer: { one: users, on: { id: user_id }, fields: { name: name, prefs: prefs } }
      items: { many: orders, on: { id: id }, fields: { sku: status } }
      n: { agg: count, of: items }
    sinks:
      elasticsearch:
        mappings:
` + mappings + `  w:
    from: loose
    fields: { id: id, x: x }
    sinks:
      elasticsearch: { mappings: { x.a: { type: keyword } } }
`
}

// TestESMappingBelowAField: validate takes a mapping override of a path
// below a field exactly when the field holds objects (a join, json or
// jsonb, a column of undeclared type) or an override of the field makes
// it an object, and refuses it at the key otherwise. Where the sink
// decides from the field's type alone, it agrees (the fields of a joined
// object are all jsonb to it: a scalar inside one fails each document).
func TestESMappingBelowAField(t *testing.T) {
	for _, tc := range []struct {
		name, mappings string
		refused        bool // by validate
		sinkAlone      bool // validate refuses what the sink takes
	}{
		{"jsonb", "doc.email: { type: keyword }", false, false},
		{"json[]", "raws.a: { type: keyword }", false, false},
		{"one join", "customer.name: { type: keyword }", false, false},
		{"jsonb in a one join", "customer.prefs.lang: { type: keyword }", false, false},
		{"many join", "items.sku: { type: keyword }", false, false},
		{"jsonb column of a one join", "cprefs.lang: { type: keyword }", false, false},
		{"override as object", "status: { type: object }\n          status.raw: { type: keyword }", false, false},
		{"override without a type", "status: { properties: {} }\n          status.raw: { type: keyword }", false, false},
		{"object override inside jsonb", "doc.a: { type: object }\n          doc.a.b: { type: keyword }", false, false},
		{"text column", "status.raw: { type: keyword }", true, false},
		{"bigint column", "id.x: { type: keyword }", true, false},
		{"text expression", "label.raw: { type: keyword }", true, false},
		{"text column of a one join", "cname.raw: { type: keyword }", true, false},
		{"scalar override of jsonb", "doc: { type: keyword }\n          doc.a: { type: keyword }", true, false},
		{"scalar override inside jsonb", "doc.a: { type: keyword }\n          doc.a.b: { type: keyword }", true, false},
		{"plugin type override", "doc: { type: murmur3 }\n          doc.a: { type: keyword }", true, false},
		{"text field of a one join", "customer.name.raw: { type: keyword }", true, true},
		{"text field of a many join", "items.sku.raw: { type: keyword }", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := esMappingFile("          " + tc.mappings + "\n")
			cfg, err := config.ParseDraft("p.yaml", []byte(file), func(string) (string, bool) { return "", false })
			if refused := err != nil; refused != tc.refused {
				t.Fatalf("validate: %v, want refused %t", err, tc.refused)
			}
			if err != nil && !strings.Contains(err.Error(), "not an object") && !strings.Contains(err.Error(), "other than object") {
				t.Errorf("validate: %v, want the field is not an object", err)
			}
			if got, want := sinkRefuses(t, cfg), tc.refused && !tc.sinkAlone; got != want {
				t.Errorf("the sink refuses: %t, want %t", got, want)
			}
		})
	}
}

// sinkRefuses reports whether elasticsearch.New refuses the views as `run`
// gives them (internal/stack ElasticsearchViews).
func sinkRefuses(t *testing.T, cfg *config.Config) bool {
	t.Helper()
	bare := *cfg
	bare.Views = append(config.Map[config.View](nil), cfg.Views...)
	for i := range bare.Views {
		es := *bare.Views[i].Value.Sinks.Elasticsearch
		es.Mappings = nil
		bare.Views[i].Value.Sinks.Elasticsearch = &es
	}
	plan, err := projections.Compile(&bare)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	var views []elasticsearch.View
	for _, v := range plan.Views {
		ev := elasticsearch.View{Name: v.Name, Alias: v.Name, Mappings: map[string]any{}}
		for _, c := range v.Columns() {
			ev.Fields = append(ev.Fields, elasticsearch.Field{Name: c.Name, Type: c.Type.String()})
		}
		es, _ := cfg.Views.Get(v.Name)
		for _, m := range es.Sinks.Elasticsearch.Mappings {
			ev.Mappings[m.Key] = m.Value
		}
		views = append(views, ev)
	}
	_, err = elasticsearch.New(elasticsearch.Config{URL: "http://127.0.0.1:1"}, views)
	return errors.Is(err, elasticsearch.ErrConfig)
}
