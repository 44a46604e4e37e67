package elasticsearch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/projectorhq/projector/sinks"
)

// A doc whose id is longer than Elasticsearch's 512-byte _id limit is
// reported on its own (like a negative Rev: see encode), not sent: a bulk
// request holding it is refused whole with 400
// action_request_validation_exception, so every doc of the batch would
// fail, on every retry, and the partition would stall. Canonical ids are
// the text of the key (projector/ids.go), so a long text key or group key
// is enough. The refusal is final: sinks.ErrRefused.
func TestElasticsearchLongIDReportedPerDoc(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		s := b.newSink(t, nil, View{Name: "items", Fields: itemFields})
		long := strings.Repeat("k", 600)
		// 512 bytes exactly is allowed; 171 three-byte runes are 513 bytes.
		edge := strings.Repeat("é", 256)
		over := strings.Repeat("€", 171)
		docs := []sinks.Doc{
			{View: "items", ID: "ok", Rev: 1, Fields: map[string]any{"title": "fine"}},
			{View: "items", ID: long, Rev: 1, Fields: map[string]any{"title": "long key"}},
			{View: "items", ID: edge, Rev: 1, Fields: map[string]any{"title": "512 bytes"}},
			{View: "items", ID: over, Rev: 1, Fields: map[string]any{"title": "513 bytes"}},
		}
		err := s.Write(context.Background(), docs)
		var be *sinks.BatchError
		if !errors.As(err, &be) {
			t.Fatalf("Write of a doc with a 600-byte id = %v, want a *sinks.BatchError naming it", err)
		}
		if got := failedIndexes(t, err); !reflect.DeepEqual(got, []int{1, 3}) {
			t.Fatalf("failed indexes = %v, want [1 3]", got)
		}
		for _, i := range []int{1, 3} {
			if !errors.Is(be.Failed[i], ErrInvalidDoc) || !errors.Is(be.Failed[i], sinks.ErrRefused) {
				t.Errorf("#%d: %v, want ErrInvalidDoc and sinks.ErrRefused", i, be.Failed[i])
			}
		}
		for _, id := range []string{"ok", edge} {
			if !b.get(t, b.prefix+"items", id).found {
				t.Errorf("the valid doc %q of the batch was not stored", id)
			}
		}
	})
}

// PostgreSQL inet values carry a netmask unless it is /32 (/128): their
// text, which is what the doc holds, is "10.1.2.3/8". Elasticsearch's ip
// type holds a single address only, so inet is mapped keyword, with an ip
// sub-field that ignores what is not a plain address: both values are
// stored, and a range query on the sub-field finds the plain address.
func TestElasticsearchInetWithNetmask(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		s := b.newSink(t, nil, View{Name: "hosts", Fields: []Field{{"id", "bigint"}, {"addr", "inet"}}})
		err := s.Write(context.Background(), []sinks.Doc{
			{View: "hosts", ID: "1", Rev: 1, Fields: map[string]any{"id": 1, "addr": "10.1.2.3/8"}},
			{View: "hosts", ID: "2", Rev: 1, Fields: map[string]any{"id": 2, "addr": "2001:db8::1/64"}},
			{View: "hosts", ID: "3", Rev: 1, Fields: map[string]any{"id": 3, "addr": "10.1.2.4"}},
		})
		if err != nil {
			t.Fatalf("Write of valid inet values: %v", err)
		}
		if got := searchIDs(t, b, b.prefix+"hosts", map[string]any{"term": map[string]any{"addr": "10.1.2.3/8"}}); !reflect.DeepEqual(got, []string{"1"}) {
			t.Errorf("term addr = 10.1.2.3/8 matched %v, want [1]", got)
		}
		q := map[string]any{"range": map[string]any{"addr." + IPSubField: map[string]any{"gte": "10.0.0.0", "lte": "10.255.255.255"}}}
		if got := searchIDs(t, b, b.prefix+"hosts", q); !reflect.DeepEqual(got, []string{"3"}) {
			t.Errorf("range on addr.ip matched %v, want [3]", got)
		}
	})
}

// Two views whose aliases are "user" and "user-groups" are both valid (New
// accepts them). Their templates must not overlap at the same priority,
// which Elasticsearch refuses: "Multiple templates with overlapping index
// patterns at the same priority are not allowed and an error will be
// thrown when attempting to create a template matching an existing index
// template at identical priorities" (put index template API). And each
// view's indices get that view's mapping, not the other's.
func TestElasticsearchAliasesWithCommonPrefix(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		views := []View{
			{Name: "user", Alias: b.prefix + "user", Fields: []Field{{"id", "bigint"}, {"name", "text"}}},
			{Name: "user_groups", Alias: b.prefix + "user-groups", Fields: []Field{{"id", "bigint"}, {"name", "uuid"}}},
		}
		s, err := New(b.cfg, views)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		t.Cleanup(s.Close)
		if err := s.Setup(context.Background()); err != nil {
			t.Fatalf("Setup of views with aliases user and user-groups: %v", err)
		}
		for _, v := range []string{"user", "user_groups"} {
			if err := s.Write(context.Background(), []sinks.Doc{{View: v, ID: "1", Rev: 1, Fields: map[string]any{"id": 1, "name": "x"}}}); err != nil {
				t.Fatalf("write %s: %v", v, err)
			}
		}
		for alias, want := range map[string]string{"user-g1": "text", "user-groups-g1": "keyword", "user-groups-g2": "keyword"} {
			index := b.prefix + alias
			if alias == "user-groups-g2" {
				// A later generation, as a rebuild creates it.
				if status, body := b.do(t, http.MethodPut, "/"+index, nil); status != http.StatusOK {
					t.Fatalf("create %s: %d %v", index, status, body)
				}
			}
			status, got := b.do(t, http.MethodGet, "/"+index, nil)
			if status != http.StatusOK {
				t.Fatalf("GET %s: %d %v", index, status, got)
			}
			props := got[index].(map[string]any)["mappings"].(map[string]any)["properties"].(map[string]any)
			if typ := props["name"].(map[string]any)["type"]; typ != want {
				t.Errorf("%s: name is %v, want %s (the template of the other view applied)", index, typ, want)
			}
		}
		// Setup again, in the other order: each template is re-put over itself.
		s2, err := New(b.cfg, []View{views[1], views[0]})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		t.Cleanup(s2.Close)
		if err := s2.Setup(context.Background()); err != nil {
			t.Fatalf("second Setup: %v", err)
		}
	})
}

// Keyword mappings of values without a length bound (xml, tsvector, bit
// varying, and text fields named id or *_id) have ignore_above 8191: a
// longer value could pass Lucene's term limit of 32766 bytes, and
// Elasticsearch would refuse the doc ("Document contains at least one
// immense term") for good. "set the limit to 32766 / 4 = 8191"
// (https://www.elastic.co/guide/en/elasticsearch/reference/8.6/ignore-above.html).
func TestKeywordMappingsBoundTermLength(t *testing.T) {
	for _, c := range []struct{ name, typ string }{
		{"body", "xml"},
		{"search", "tsvector"},
		{"flags", "bit varying"},
		{"external_id", "text"},
		{"id", "varchar(40)"},
	} {
		m := FieldMapping(c.name, c.typ)
		if m["type"] != "keyword" || m["index"] == false && m["doc_values"] == false {
			continue
		}
		ia, err := strconv.ParseFloat(fmt.Sprint(m["ignore_above"]), 64)
		if err != nil || ia <= 0 || ia > 8191 {
			t.Errorf("FieldMapping(%q, %q) = %v: a keyword without ignore_above <= 8191 refuses values over 32766 bytes", c.name, c.typ, m)
		}
	}
}

// Long xml and *_id values are stored (kept in _source, not indexed), and
// the short ones still match exactly.
func TestElasticsearchLongKeywordValues(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		s := b.newSink(t, nil, View{Name: "pages", Fields: []Field{{"id", "bigint"}, {"external_id", "text"}, {"body", "xml"}}})
		big := strings.Repeat("x", 40000)
		err := s.Write(context.Background(), []sinks.Doc{
			{View: "pages", ID: "1", Rev: 1, Fields: map[string]any{"id": 1, "external_id": "ext-1", "body": "<a/>"}},
			{View: "pages", ID: "2", Rev: 1, Fields: map[string]any{"id": 2, "external_id": big, "body": "<a>" + big + "</a>"}},
		})
		if err != nil {
			t.Fatalf("Write of long keyword values: %v", err)
		}
		if got := b.get(t, b.prefix+"pages", "2"); !got.found || got.source["external_id"] != big {
			t.Errorf("doc 2 not stored with its long external_id")
		}
		if got := searchIDs(t, b, b.prefix+"pages", map[string]any{"term": map[string]any{"external_id": "ext-1"}}); !reflect.DeepEqual(got, []string{"1"}) {
			t.Errorf("term external_id = ext-1 matched %v, want [1]", got)
		}
	})
}

// searchIDs refreshes and returns the sorted ids a query matches through
// the alias.
func searchIDs(t *testing.T, b *backend, alias string, query map[string]any) []string {
	t.Helper()
	b.do(t, http.MethodPost, "/"+alias+"/_refresh", nil)
	status, body := b.do(t, http.MethodPost, "/"+alias+"/_search", map[string]any{"query": query})
	if status != http.StatusOK {
		t.Fatalf("search %s %v: %d %v", alias, query, status, body)
	}
	ids := []string{}
	for _, h := range body["hits"].(map[string]any)["hits"].([]any) {
		ids = append(ids, h.(map[string]any)["_id"].(string))
	}
	sort.Strings(ids)
	return ids
}

// A doc larger than Elasticsearch's default http.max_content_length (100mb)
// can be in no request: Elasticsearch answers 413 for the whole request,
// on every retry. Like an id over 512 bytes, it is refused on its own, not
// sent, and the rest of its batch is stored.
func TestElasticsearchDocOverMaxContentLengthRefusedAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 100mb document")
	}
	forEachBackend(t, func(t *testing.T, b *backend) {
		s := b.newSink(t, nil, View{Name: "big", Fields: []Field{{Name: "id", Type: "bigint"}, {Name: "body", Type: "jsonb"}}})
		small := sinks.Doc{View: "big", ID: "1", Key: map[string]any{"id": json.Number("1")}, Rev: 1,
			Fields: map[string]any{"id": json.Number("1"), "body": "small"}}
		huge := sinks.Doc{View: "big", ID: "2", Key: map[string]any{"id": json.Number("2")}, Rev: 1,
			Fields: map[string]any{"id": json.Number("2"), "body": strings.Repeat("x", maxContentLength+1)}}
		err := s.Write(context.Background(), []sinks.Doc{small, huge})
		var be *sinks.BatchError
		if !errors.As(err, &be) {
			t.Fatalf("Write = %v; want a BatchError refusing doc #1 alone (it can never be taken)", err)
		}
		if len(be.Failed) != 1 || !errors.Is(be.Failed[1], sinks.ErrRefused) || !errors.Is(be.Failed[1], ErrTooLarge) {
			t.Fatalf("failed = %v, want only #1, refused as ErrTooLarge", be.Failed)
		}
		if !b.get(t, b.prefix+"big", "1").found {
			t.Error("the small doc of the batch was not stored")
		}
		if b.fake != nil && b.fake.BulkRequests() != 1 {
			t.Errorf("%d bulk requests, want 1: the huge doc is not sent", b.fake.BulkRequests())
		}
	})
}

// A cluster may set http.max_content_length lower than the default: a
// request it answers 413 is split in halves and each sent again, and a doc
// alone in a request answered 413 is refused on its own.
func TestElasticsearchLowerMaxContentLengthSplitsRequests(t *testing.T) {
	b := fakeBackend(t)
	b.fake.SetMaxContentLength(4 << 10)
	s := b.newSink(t, nil, View{Name: "big", Fields: []Field{{Name: "id", Type: "bigint"}, {Name: "body", Type: "jsonb"}}})
	var docs []sinks.Doc
	for i := range 9 {
		body := strings.Repeat("x", 1<<10)
		if i == 6 {
			body = strings.Repeat("y", 5<<10)
		}
		id := json.Number(strconv.Itoa(i))
		docs = append(docs, sinks.Doc{View: "big", ID: string(id), Key: map[string]any{"id": id}, Rev: 1,
			Fields: map[string]any{"id": id, "body": body}})
	}
	err := s.Write(context.Background(), docs)
	var be *sinks.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("Write = %v; want a BatchError refusing doc #6 alone", err)
	}
	if len(be.Failed) != 1 || !errors.Is(be.Failed[6], sinks.ErrRefused) || !errors.Is(be.Failed[6], ErrTooLarge) {
		t.Fatalf("failed = %v, want only #6, refused as ErrTooLarge", be.Failed)
	}
	for i := range docs {
		if got := b.get(t, b.prefix+"big", docs[i].ID).found; got != (i != 6) {
			t.Errorf("doc %d stored: %v", i, got)
		}
	}
}

// PostgreSQL holds values that Elasticsearch's numeric and date types
// cannot index: numeric's NaN, double precision's NaN and ±Infinity, a
// timestamp's ±infinity, which the decoder passes on as the strings
// "NaN", "Infinity", "infinity" (debezium/logical.go). The generated
// mappings set ignore_malformed on those types, so the doc is stored, the
// value kept in _source and listed in _ignored, not indexed; without it
// Elasticsearch refuses the whole doc (document_parsing_exception), which
// would be dead-lettered and fail every rebuild's verification.
func TestElasticsearchNonFiniteValuesStored(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		s := b.newSink(t, nil, View{Name: "nf", Fields: []Field{
			{Name: "id", Type: "bigint"},
			{Name: "total", Type: "numeric(10,2)"},
			{Name: "whole", Type: "numeric(12,0)"},
			{Name: "score", Type: "double precision"},
			{Name: "ratio", Type: "real"},
			{Name: "at", Type: "timestamp with time zone"},
			{Name: "on", Type: "date"},
		}})
		tests := []struct {
			name, field string
			value       any
		}{
			{"numeric(10,2) NaN", "total", "NaN"},
			{"numeric(12,0) NaN", "whole", "NaN"},
			{"double precision NaN", "score", "NaN"},
			{"double precision +Infinity", "score", "Infinity"},
			{"double precision -Infinity", "score", "-Infinity"},
			{"real NaN", "ratio", "NaN"},
			{"timestamptz infinity", "at", "infinity"},
			{"timestamptz -infinity", "at", "-infinity"},
			{"date infinity", "on", "infinity"},
		}
		for i, tt := range tests {
			id := json.Number(strconv.Itoa(i + 1))
			doc := sinks.Doc{View: "nf", ID: string(id), Key: map[string]any{"id": id}, Rev: 1,
				Fields: map[string]any{"id": id, tt.field: tt.value}}
			if err := s.Write(context.Background(), []sinks.Doc{doc}); err != nil {
				var be *sinks.BatchError
				if errors.As(err, &be) {
					err = be.Failed[0]
				}
				t.Errorf("%s: a value PostgreSQL holds is refused: %v", tt.name, err)
				continue
			}
			got := b.get(t, b.prefix+"nf", string(id))
			if !got.found || got.source[tt.field] != tt.value {
				t.Errorf("%s: stored %v, want %s kept in _source", tt.name, got.source, tt.value)
			}
		}
		q := map[string]any{"term": map[string]any{"_ignored": "score"}}
		if got := searchIDs(t, b, b.prefix+"nf", q); !reflect.DeepEqual(got, []string{"3", "4", "5"}) {
			t.Errorf("docs with score in _ignored: %v, want [3 4 5]", got)
		}
		q = map[string]any{"exists": map[string]any{"field": "score"}}
		if got := searchIDs(t, b, b.prefix+"nf", q); len(got) != 0 {
			t.Errorf("docs with score indexed: %v, want none", got)
		}
	})
}
