package elasticsearch

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/projectorhq/projector/sinks"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// servedFields are the fields of the view the served index was created
// with, before fields were added to it.
var servedFields = []Field{{"id", "bigint"}, {"title", "text"}}

// addedFields are fields added to the view since, one of each mapping
// dynamic mapping would get wrong.
var addedFields = []Field{
	{"meta", "jsonb"}, {"price", "numeric(10,2)"}, {"total", "numeric"}, {"customer_id", "text"},
	{"at", "timestamptz"}, {"score", "double precision"},
}

func addedItem(id string, rev int64, fields map[string]any) sinks.Doc {
	return sinks.Doc{View: "items", ID: id, Key: map[string]any{"id": json.Number(id)}, Rev: rev, Fields: fields}
}

// indexMapping is the properties index maps, as Elasticsearch answers
// GET _mapping.
func indexMapping(t *testing.T, b *backend, index string) map[string]any {
	t.Helper()
	status, got := b.do(t, http.MethodGet, "/"+index+"/_mapping", nil)
	if status != http.StatusOK {
		t.Fatalf("GET %s/_mapping: %d %v", index, status, got)
	}
	props, _ := got[index].(map[string]any)["mappings"].(map[string]any)["properties"].(map[string]any)
	return props
}

// TestSetupMapsFieldsAddedToTheServedIndex: fields added to a view need
// no rebuild, and the next start writes them into the index it serves.
// Setup gives that index the generated mapping of each, as a rebuilt
// generation would have it: a jsonb field then takes an object whose
// member is a number in one document and text in the next, which a
// mapping Elasticsearch derived from the first document would refuse.
func TestSetupMapsFieldsAddedToTheServedIndex(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		served := b.newSink(t, nil, View{Name: "items", Fields: servedFields})
		if err := served.Write(ctx, []sinks.Doc{addedItem("1", 1, map[string]any{"id": json.Number("1"), "title": "a"})}); err != nil {
			t.Fatalf("write before the fields were added: %v", err)
		}
		added := b.newSink(t, nil, View{Name: "items", Fields: append(append([]Field{}, servedFields...), addedFields...)})
		index := b.prefix + "items-g1"
		props := indexMapping(t, b, index)
		for _, f := range addedFields {
			if g, w := normalize(props[f.Name]), normalize(FieldMapping(f.Name, f.Type)); !reflect.DeepEqual(g, w) {
				t.Errorf("%s (%s) is mapped %v, want the generated %v", f.Name, f.Type, g, w)
			}
		}
		for i, meta := range []any{map[string]any{"a": json.Number("1")}, map[string]any{"a": "item-5"}, "a string", []any{json.Number("1"), "x"}} {
			id := string(rune('2' + i))
			doc := addedItem(id, 1, map[string]any{"id": json.Number(id), "title": "b", "meta": meta, "price": json.Number("1.25"),
				"total": "12345678901234567890.5", "customer_id": "c-1", "at": "2026-01-02T03:04:05.123456Z", "score": "NaN"})
			if err := added.Write(ctx, []sinks.Doc{doc}); err != nil {
				t.Errorf("write of meta %v into the served index: %v", meta, err)
			}
		}
		if err := added.Setup(ctx); err != nil {
			t.Fatalf("Setup again: %v", err)
		}
		if g, w := normalize(indexMapping(t, b, index)), normalize(props); !reflect.DeepEqual(g, w) {
			t.Errorf("mapping after a second Setup and the writes\n got %v\nwant %v", g, w)
		}
	})
}

// TestSetupLeavesFieldsTheServedIndexMapsAlone: a field the served index
// maps already keeps its mapping: one Elasticsearch derived from documents
// written before the field was declared (or that an earlier release
// generated), or one the view's mapping overrides now map otherwise.
// Elasticsearch does not change a field's mapping in place; Setup does not
// fail over it, and maps the fields the index lacks.
func TestSetupLeavesFieldsTheServedIndexMapsAlone(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		served := b.newSink(t, nil, View{Name: "items", Fields: servedFields})
		doc := addedItem("1", 1, map[string]any{"id": json.Number("1"), "title": "a", "meta": map[string]any{"a": json.Number("1")}})
		if err := served.Write(ctx, []sinks.Doc{doc}); err != nil {
			t.Fatalf("write of an undeclared meta: %v", err)
		}
		index := b.prefix + "items-g1"
		before := indexMapping(t, b, index)
		b.newSink(t, nil, View{Name: "items", Fields: append(append([]Field{}, servedFields...), Field{"meta", "jsonb"}, Field{"note", "text"}),
			Mappings: map[string]any{"title": map[string]any{"type": "keyword"}}})
		props := indexMapping(t, b, index)
		for _, name := range []string{"meta", "title"} {
			if g, w := normalize(props[name]), normalize(before[name]); !reflect.DeepEqual(g, w) {
				t.Errorf("%s, mapped before, is now %v, want %v kept", name, g, w)
			}
		}
		if g, w := normalize(props["note"]), normalize(FieldMapping("note", "text")); !reflect.DeepEqual(g, w) {
			t.Errorf("note, added, is mapped %v, want %v", g, w)
		}
	})
}

// TestSetupMakesRoomForFieldsAddedToTheServedIndex: the fields added take
// the room the served index keeps for dynamically mapped ones; where that
// is used up, Setup raises its total_fields.limit to the one a generation
// of the view's template gets, rather than failing to map them.
func TestSetupMakesRoomForFieldsAddedToTheServedIndex(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		b.newSink(t, nil, View{Name: "items", Fields: servedFields})
		index := b.prefix + "items-g1"
		// id, title, title.keyword, _deleted, _deleted_at: no room left.
		if status, got := b.do(t, http.MethodPut, "/"+index+"/_settings", map[string]any{totalFieldsLimit: 5}); status != http.StatusOK {
			t.Fatalf("lower the limit: %d %v", status, got)
		}
		v := View{Name: "items", Fields: append(append([]Field{}, servedFields...), addedFields...)}
		b.newSink(t, nil, v)
		status, got := b.do(t, http.MethodGet, "/"+index+"/_settings", nil)
		if status != http.StatusOK {
			t.Fatalf("GET settings: %d %v", status, got)
		}
		limit := got[index].(map[string]any)["settings"].(map[string]any)["index"].(map[string]any)["mapping"].(map[string]any)["total_fields"].(map[string]any)["limit"]
		props, err := indexProperties(&v)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := normalize(limit), normalize(fieldLimit(props)); g != w {
			t.Errorf("total_fields.limit = %v, want %v", g, w)
		}
		if _, ok := indexMapping(t, b, index)["meta"]; !ok {
			t.Errorf("meta is not mapped")
		}
	})
}

// TestSetupMapsAddedFieldsWhenADocumentMapsOneMeanwhile: a daemon of an
// earlier release, still running, may write an added field between
// Setup's look at the mapping and its update, mapping it dynamically; the
// update is then refused as a whole. Setup looks again and maps the
// others, leaving that one as the document mapped it.
func TestSetupMapsAddedFieldsWhenADocumentMapsOneMeanwhile(t *testing.T) {
	fake := esfake.New()
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/_mapping") {
			once.Do(func() {
				bulk := httptest.NewRequest(http.MethodPost, "/_bulk",
					strings.NewReader(`{"index":{"_index":"items-g1","_id":"9"}}`+"\n"+`{"meta":{"a":1}}`+"\n"))
				bulk.Header.Set("Content-Type", "application/x-ndjson")
				rec := httptest.NewRecorder()
				fake.ServeHTTP(rec, bulk)
				if strings.Contains(rec.Body.String(), `"errors":true`) {
					t.Errorf("the earlier release's write: %s", rec.Body)
				}
			})
		}
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	b := &backend{name: "esfake", cfg: Config{URL: srv.URL, MaxBackoff: time.Millisecond}, fake: fake}
	b.client = testClient(t, b.cfg)
	b.newSink(t, nil, View{Name: "items", Fields: servedFields})
	b.newSink(t, nil, View{Name: "items", Fields: append(append([]Field{}, servedFields...), Field{"meta", "jsonb"}, Field{"note", "text"})})
	props := indexMapping(t, b, "items-g1")
	if g, w := normalize(props["meta"]), normalize(map[string]any{"properties": map[string]any{"a": map[string]any{"type": "long"}}}); !reflect.DeepEqual(g, w) {
		t.Errorf("meta = %v, want %v as the document mapped it", g, w)
	}
	if g, w := normalize(props["note"]), normalize(FieldMapping("note", "text")); !reflect.DeepEqual(g, w) {
		t.Errorf("note = %v, want %v", g, w)
	}
}
