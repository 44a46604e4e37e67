package elasticsearch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/projectorhq/projector/sinks"
)

func TestFieldMapping(t *testing.T) {
	text := map[string]any{"type": "text", "fields": map[string]any{"keyword": map[string]any{"type": "keyword", "ignore_above": 256}}}
	kw := map[string]any{"type": "keyword"}
	longKw := map[string]any{"type": "keyword", "ignore_above": 8191}
	digits := map[string]any{"type": "keyword", "ignore_above": 8191, "fields": map[string]any{
		"number": map[string]any{"type": "double", "ignore_malformed": true}}}
	tests := []struct {
		name, field, typ string
		want             map[string]any
	}{
		{"bigint", "n", "bigint", map[string]any{"type": "long"}},
		{"integer", "n", "integer", map[string]any{"type": "long"}},
		{"smallint upper case", "n", "SMALLINT", map[string]any{"type": "long"}},
		{"numeric(10,2)", "price", "numeric(10,2)", map[string]any{"type": "scaled_float", "scaling_factor": 100.0, "ignore_malformed": true}},
		{"decimal(15,4) spaced", "p", "decimal( 15 , 4 )", map[string]any{"type": "scaled_float", "scaling_factor": 10000.0, "ignore_malformed": true}},
		{"numeric(16,2) too precise", "p", "numeric(16,2)", digits},
		{"numeric(18,0) fits long", "p", "numeric(18,0)", map[string]any{"type": "long", "ignore_malformed": true}},
		{"numeric(12) fits long", "p", "numeric(12)", map[string]any{"type": "long", "ignore_malformed": true}},
		{"numeric(19,0) too big", "p", "numeric(19,0)", digits},
		{"numeric unknown scale", "p", "numeric", digits},
		{"numeric negative scale", "p", "numeric(5,-2)", digits},
		{"double precision", "d", "double precision", map[string]any{"type": "double", "ignore_malformed": true}},
		{"real", "r", "real", map[string]any{"type": "float", "ignore_malformed": true}},
		{"boolean", "b", "boolean", map[string]any{"type": "boolean"}},
		{"timestamptz", "at", "timestamptz", map[string]any{"type": "date", "ignore_malformed": true}},
		{"timestamp(3) with time zone", "at", "timestamp(3) with time zone", map[string]any{"type": "date", "ignore_malformed": true}},
		{"timestamp", "at", "timestamp without time zone", map[string]any{"type": "date", "ignore_malformed": true}},
		{"date", "on", "date", map[string]any{"type": "date", "ignore_malformed": true}},
		{"text", "title", "text", text},
		{"varchar(255)", "title", "character varying(255)", text},
		{"text id", "id", "text", longKw},
		{"text foreign id", "customer_id", "varchar(24)", longKw},
		{"uuid", "ref", "uuid", kw},
		{"jsonb", "meta", "jsonb", map[string]any{"type": "object", "enabled": false}},
		{"object", "customer", "object", map[string]any{"type": "object", "dynamic": true}},
		{"text array", "tags", "text[]", text},
		{"integer array", "ns", "integer[]", map[string]any{"type": "long"}},
		{"postgres internal array name", "ns", "_int4", map[string]any{"type": "long"}},
		{"bytea", "blob", "bytea", map[string]any{"type": "binary"}},
		{"inet", "addr", "inet", map[string]any{"type": "keyword", "fields": map[string]any{
			"ip": map[string]any{"type": "ip", "ignore_malformed": true}}}},
		{"cidr", "net", "cidr", kw},
		{"xml", "body", "xml", longKw},
		{"tsvector", "search", "tsvector", longKw},
		{"bit varying", "flags", "bit varying(64)", longKw},
		{"bit(n)", "flags", "bit(8)", longKw},
		{"interval", "dur", "interval", kw},
		{"unknown left to dynamic mapping", "g", "geometry", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FieldMapping(tt.field, tt.typ)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("FieldMapping(%q, %q) = %v, want %v", tt.field, tt.typ, got, tt.want)
			}
		})
	}
}

func TestNewConfigErrors(t *testing.T) {
	ok := []View{{Name: "orders"}}
	tests := []struct {
		name  string
		cfg   Config
		views []View
		want  []string // every one must appear in the error
	}{
		{"no url", Config{}, ok, []string{"url is required"}},
		{"bad scheme", Config{URL: "ftp://h:1"}, ok, []string{"must be http(s)://host:port"}},
		{"both auths", Config{URL: "http://h:9200", APIKey: "k", Username: "u"}, ok, []string{"not both"}},
		{"bad ca", Config{URL: "http://h:9200", CACert: []byte("nope")}, ok, []string{"no PEM certificate"}},
		{"no views", Config{URL: "http://h:9200"}, nil, []string{"no views"}},
		{"all view problems at once", Config{URL: "http://h:9200"}, []View{
			{Name: "a", Alias: "Bad"},
			{Name: "a"},
			{Name: "b", Generation: -1},
			{Name: "c", Mappings: map[string]any{"x": "keyword"}},
			{Name: "d", Alias: "b"},
		}, []string{`alias "Bad" is not a valid index name`, `view "a" declared twice`, "generation -1 is negative",
			`mapping of "x" is not an object`, `share alias "b"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, tt.views)
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("New error = %v, want ErrConfig", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestNewKeepsURLPasswordOutOfErrors(t *testing.T) {
	_, err := New(Config{URL: "ftp://user:hunter2@h:1"}, []View{{Name: "v"}})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %v must exist and not contain the password", err)
	}
}

// normalize makes mappings from esfake and a real cluster comparable:
// Elasticsearch echoes some scalars as strings ("dynamic": "true"), floats
// as 100.0, and may leave out "type": "object".
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range t {
			if k == "type" && e == "object" {
				continue
			}
			out[k] = normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = normalize(e)
		}
		return out
	}
	return fmt.Sprint(v)
}

func TestElasticsearchSetup(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		v := View{
			Name: "orders",
			Fields: []Field{
				{"id", "bigint"}, {"customer_id", "text"}, {"ref", "uuid"}, {"title", "text"},
				{"price", "numeric(10,2)"}, {"total", "numeric(30,4)"}, {"qty", "integer"},
				{"score", "double precision"}, {"paid", "boolean"}, {"created_at", "timestamptz"},
				{"tags", "text[]"}, {"customer", "jsonb"}, {"note", "text"}, {"attrs", "jsonb"},
			},
			Mappings: map[string]any{
				"note":           map[string]any{"type": "keyword"},
				"customer.email": map[string]any{"type": "keyword"},
			},
		}
		s := b.newSink(t, nil, v)
		alias := b.prefix + "orders"
		index := alias + "-g1"

		status, got := b.do(t, http.MethodGet, "/"+index, nil)
		if status != http.StatusOK {
			t.Fatalf("GET %s: %d %v", index, status, got)
		}
		mappings := got[index].(map[string]any)["mappings"].(map[string]any)
		text := map[string]any{"type": "text", "fields": map[string]any{"keyword": map[string]any{"type": "keyword", "ignore_above": 256}}}
		want := map[string]any{
			"id": map[string]any{"type": "long"}, "customer_id": map[string]any{"type": "keyword", "ignore_above": 8191.0},
			"ref": map[string]any{"type": "keyword"}, "title": text,
			"price": map[string]any{"type": "scaled_float", "scaling_factor": 100.0, "ignore_malformed": true},
			"total": map[string]any{"type": "keyword", "ignore_above": float64(8191), "fields": map[string]any{
				"number": map[string]any{"type": "double", "ignore_malformed": true}}},
			"qty":   map[string]any{"type": "long"},
			"score": map[string]any{"type": "double", "ignore_malformed": true}, "paid": map[string]any{"type": "boolean"},
			"created_at": map[string]any{"type": "date", "ignore_malformed": true}, "tags": text,
			"customer": map[string]any{"type": "object", "dynamic": true, "properties": map[string]any{
				"email": map[string]any{"type": "keyword"},
			}},
			"attrs":        map[string]any{"type": "object", "enabled": false},
			"note":         map[string]any{"type": "keyword"},
			DeletedField:   map[string]any{"type": "boolean"},
			DeletedAtField: map[string]any{"type": "date"},
		}
		if g, w := normalize(mappings["properties"]), normalize(want); !reflect.DeepEqual(g, w) {
			t.Errorf("mapping properties\n got %v\nwant %v", g, w)
		}

		status, tmpl := b.do(t, http.MethodGet, "/_index_template/"+alias, nil)
		if status != http.StatusOK {
			t.Fatalf("GET template: %d %v", status, tmpl)
		}
		it := tmpl["index_templates"].([]any)[0].(map[string]any)["index_template"].(map[string]any)
		wantPatterns := []any{}
		for d := 1; d <= 9; d++ {
			wantPatterns = append(wantPatterns, fmt.Sprintf("%s-g%d*", alias, d))
		}
		if g := normalize(it["index_patterns"]); !reflect.DeepEqual(g, wantPatterns) {
			t.Errorf("index_patterns = %v, want %v", g, wantPatterns)
		}
		if g, w := fmt.Sprint(it["priority"]), fmt.Sprint(templatePriority+len(alias)); g != w {
			t.Errorf("priority = %s, want %s", g, w)
		}

		assertAlias(t, b, alias, index)

		// Setup again: idempotent.
		if err := s.Setup(context.Background()); err != nil {
			t.Fatalf("second Setup: %v", err)
		}
		assertAlias(t, b, alias, index)
	})
}

// assertAlias checks the alias points at exactly that index, with the
// tombstone filter.
func assertAlias(t *testing.T, b *backend, alias, index string) {
	t.Helper()
	status, got := b.do(t, http.MethodGet, "/_alias/"+alias, nil)
	if status != http.StatusOK {
		t.Fatalf("GET alias %s: %d %v", alias, status, got)
	}
	if len(got) != 1 || got[index] == nil {
		t.Fatalf("alias %s points at %v, want only %s", alias, got, index)
	}
	meta := got[index].(map[string]any)["aliases"].(map[string]any)[alias].(map[string]any)
	if g, w := normalize(meta["filter"]), normalize(aliasFilter()); !reflect.DeepEqual(g, w) {
		t.Errorf("alias filter = %v, want %v", g, w)
	}
}

func TestElasticsearchGenerations(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		fields := []Field{{"id", "bigint"}, {"title", "text"}}
		g1 := b.newSink(t, nil, View{Name: "items", Fields: fields})
		alias := b.prefix + "items"
		if err := g1.Write(ctx, []sinks.Doc{{View: "items", ID: "1", Rev: 1, Fields: map[string]any{"id": 1, "title": "old"}}}); err != nil {
			t.Fatalf("write g1: %v", err)
		}
		// A sink for generation 2: Setup creates its index but leaves the
		// alias on generation 1.
		g2 := b.newSink(t, nil, View{Name: "items", Alias: "items", Fields: fields, Generation: 2})
		assertAlias(t, b, alias, alias+"-g1")
		if err := g2.Write(ctx, []sinks.Doc{{View: "items", ID: "1", Rev: 1, Fields: map[string]any{"id": 1, "title": "new"}}}); err != nil {
			t.Fatalf("write g2: %v", err)
		}
		if got := b.get(t, alias, "1").source["title"]; got != "old" {
			t.Fatalf("before swap reader sees %v, want old", got)
		}

		if err := g2.SwapAlias(ctx, "items", 1, 2); err != nil {
			t.Fatalf("SwapAlias: %v", err)
		}
		assertAlias(t, b, alias, alias+"-g2")
		if got := b.get(t, alias, "1").source["title"]; got != "new" {
			t.Fatalf("after swap reader sees %v, want new", got)
		}

		// The alias is no longer on generation 1: a second swap from 1 fails
		// and changes nothing.
		err := g2.SwapAlias(ctx, "items", 1, 2)
		if !errors.Is(err, ErrAliasMismatch) {
			t.Fatalf("second SwapAlias error = %v, want ErrAliasMismatch", err)
		}
		assertAlias(t, b, alias, alias+"-g2")

		if err := g2.SwapAlias(ctx, "nope", 1, 2); !errors.Is(err, ErrUnknownView) {
			t.Fatalf("SwapAlias of unknown view = %v, want ErrUnknownView", err)
		}
	})
}
