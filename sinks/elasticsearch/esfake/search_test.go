package esfake

import (
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

const shopTemplate = `{"index_patterns":["shop-*"],"priority":10,"template":{"mappings":{"properties":{
	"title":{"type":"text","fields":{"keyword":{"type":"keyword","ignore_above":256}}},
	"brand":{"type":"keyword"},"price":{"type":"scaled_float","scaling_factor":100},
	"qty":{"type":"long"},"on_sale":{"type":"boolean"},"added":{"type":"date"},
	"_deleted":{"type":"boolean"},"raw":{"type":"object","enabled":false}}}}}`

const shopDocs = `{"index":{"_index":"shop-1","_id":"a"}}
{"title":"Red running shoes","brand":"acme","price":"59.90","qty":3,"on_sale":true,"added":"2026-01-01T10:00:00Z"}
{"index":{"_index":"shop-1","_id":"b"}}
{"title":"Blue running shirt","brand":"acme","price":19.5,"qty":10,"on_sale":false,"added":"2026-01-05"}
{"index":{"_index":"shop-1","_id":"c"}}
{"title":"Red rain jacket","brand":"northwind","price":120,"qty":0,"on_sale":true,"added":"2026-02-01T00:00:00Z"}
{"index":{"_index":"shop-1","_id":"d"}}
{"title":"Old red shoes","brand":"northwind","price":5,"qty":1,"_deleted":true}
`

// shop is a server with a template-created index, four docs (one a
// tombstone) and a filtered alias.
func shop(t *testing.T) *fake {
	t.Helper()
	f := start(t)
	f.must(t, http.MethodPut, "/_index_template/shop", shopTemplate)
	f.must(t, http.MethodPost, "/_bulk?refresh=true", shopDocs)
	f.must(t, http.MethodPost, "/_aliases", `{"actions":[{"add":{"index":"shop-1","alias":"shop",
		"filter":{"bool":{"must_not":[{"term":{"_deleted":true}}]}}}}]}`)
	return f
}

func ids(t *testing.T, out map[string]any) []string {
	t.Helper()
	hits := out["hits"].(map[string]any)["hits"].([]any)
	var got []string
	for _, h := range hits {
		got = append(got, h.(map[string]any)["_id"].(string))
	}
	return got
}

func TestSearch(t *testing.T) {
	f := shop(t)
	tests := []struct {
		name, target, body string
		want               []string
		sorted             bool // compare in order
	}{
		{"match_all through filtered alias", "shop", `{}`, []string{"a", "b", "c"}, false},
		{"match_all on the index sees the tombstone", "shop-1", `{"query":{"match_all":{}}}`, []string{"a", "b", "c", "d"}, false},
		{"term keyword", "shop", `{"query":{"term":{"brand":"northwind"}}}`, []string{"c"}, false},
		{"term on text matches a token", "shop", `{"query":{"term":{"title":"running"}}}`, []string{"a", "b"}, false},
		{"terms", "shop", `{"query":{"terms":{"brand":["acme","nope"]}}}`, []string{"a", "b"}, false},
		{"match or", "shop", `{"query":{"match":{"title":"red shirt"}}}`, []string{"a", "b", "c"}, false},
		{"match and", "shop", `{"query":{"match":{"title":{"query":"RED Shoes","operator":"and"}}}}`, []string{"a"}, false},
		{"keyword sub-field", "shop", `{"query":{"term":{"title.keyword":"Red rain jacket"}}}`, []string{"c"}, false},
		{"range on scaled_float", "shop", `{"query":{"range":{"price":{"gte":19.5,"lt":100}}}}`, []string{"a", "b"}, false},
		{"range on date", "shop", `{"query":{"range":{"added":{"gt":"2026-01-02"}}}}`, []string{"b", "c"}, false},
		{"bool filter and must_not", "shop", `{"query":{"bool":{"filter":[{"term":{"on_sale":true}}],"must_not":{"term":{"brand":"acme"}}}}}`, []string{"c"}, false},
		{"bool should", "shop", `{"query":{"bool":{"should":[{"term":{"qty":0}},{"term":{"qty":10}}]}}}`, []string{"b", "c"}, false},
		{"exists", "shop", `{"query":{"exists":{"field":"added"}}}`, []string{"a", "b", "c"}, false},
		{"ids", "shop", `{"query":{"ids":{"values":["a","c","zz"]}}}`, []string{"a", "c"}, false},
		{"disabled object is not searchable", "shop", `{"query":{"exists":{"field":"raw"}}}`, nil, false},
		{"sort by price desc", "shop", `{"sort":[{"price":"desc"}]}`, []string{"c", "a", "b"}, true},
		{"sort by keyword then size and from", "shop", `{"sort":["brand",{"qty":{"order":"desc"}}],"from":1,"size":1}`, []string{"a"}, true},
		{"scored match ranks more matches first", "shop", `{"query":{"match":{"title":"red running shoes"}}}`, []string{"a", "b", "c"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := f.must(t, http.MethodPost, "/"+tt.target+"/_search", tt.body)
			got := ids(t, out)
			if !tt.sorted {
				sort.Strings(got)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ids = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSearchResponseShape(t *testing.T) {
	f := shop(t)
	out := f.must(t, http.MethodPost, "/shop/_search", `{"query":{"term":{"brand":"acme"}},"sort":[{"qty":"asc"}],"_source":["title"],
		"aggs":{"brands":{"terms":{"field":"brand"}},"max_price":{"max":{"field":"price"}}}}`)
	hits := out["hits"].(map[string]any)
	if !reflect.DeepEqual(hits["total"], map[string]any{"value": 2.0, "relation": "eq"}) {
		t.Errorf("total = %v", hits["total"])
	}
	first := hits["hits"].([]any)[0].(map[string]any)
	want := map[string]any{"_index": "shop-1", "_id": "a", "_score": nil,
		"_source": map[string]any{"title": "Red running shoes"}, "sort": []any{3.0}}
	if !reflect.DeepEqual(first, want) {
		t.Errorf("first hit = %v\nwant %v", first, want)
	}
	aggs := out["aggregations"].(map[string]any)
	wantBrands := jsonOf(t, `{"doc_count_error_upper_bound":0,"sum_other_doc_count":0,"buckets":[{"key":"acme","doc_count":2}]}`)
	if !reflect.DeepEqual(aggs["brands"], wantBrands) {
		t.Errorf("brands = %v", aggs["brands"])
	}
	if aggs["max_price"].(map[string]any)["value"] != 59.9 {
		t.Errorf("max_price = %v", aggs["max_price"])
	}
}

// "version": true adds each hit's _version, as of the refresh the search
// sees; without it hits carry none.
func TestSearchVersion(t *testing.T) {
	f := start(t)
	f.must(t, http.MethodPost, "/_bulk?refresh=true",
		`{"index":{"_index":"t","_id":"1","version":7,"version_type":"external"}}`+"\n"+`{"k":"a"}`+"\n")
	f.must(t, http.MethodPost, "/_bulk", // not refreshed
		`{"index":{"_index":"t","_id":"1","version":9,"version_type":"external"}}`+"\n"+`{"k":"b"}`+"\n")
	out := f.must(t, http.MethodPost, "/t/_search", `{"version":true,"_source":false}`)
	hit := out["hits"].(map[string]any)["hits"].([]any)[0].(map[string]any)
	want := map[string]any{"_index": "t", "_id": "1", "_version": 7.0, "_score": 1.0}
	if !reflect.DeepEqual(hit, want) {
		t.Fatalf("hit = %v, want %v", hit, want)
	}
	out = f.must(t, http.MethodPost, "/t/_search", `{"query":{"match_all":{}}}`)
	hit = out["hits"].(map[string]any)["hits"].([]any)[0].(map[string]any)
	if _, ok := hit["_version"]; ok {
		t.Fatalf("hit without version:true = %v, want no _version", hit)
	}
}

func TestSearchFaults(t *testing.T) {
	f := start(t)
	f.must(t, http.MethodPut, "/t", "")
	f.FailNextSearch(1, 503, "unavailable_shards_exception")
	status, out := f.do(t, http.MethodPost, "/t/_search", "")
	if e, _ := out["error"].(map[string]any); status != 503 || e["type"] != "unavailable_shards_exception" {
		t.Fatalf("got %d %v", status, out)
	}
	f.must(t, http.MethodPost, "/t/_search", "")
	if f.SearchRequests() != 2 {
		t.Fatalf("SearchRequests = %d, want 2", f.SearchRequests())
	}
}

func TestFacets(t *testing.T) {
	f := shop(t)
	out := f.must(t, http.MethodPost, "/shop/_search", `{"size":0,"aggs":{
		"brands":{"terms":{"field":"brand"},"aggs":{"avg_qty":{"avg":{"field":"qty"}}}},
		"sale":{"terms":{"field":"on_sale"}},
		"by_key":{"terms":{"field":"qty","order":{"_key":"desc"},"size":2}}}}`)
	aggs := out["aggregations"].(map[string]any)
	want := jsonOf(t, `{
		"brands":{"doc_count_error_upper_bound":0,"sum_other_doc_count":0,"buckets":[
			{"key":"acme","doc_count":2,"avg_qty":{"value":6.5}},
			{"key":"northwind","doc_count":1,"avg_qty":{"value":0}}]},
		"sale":{"doc_count_error_upper_bound":0,"sum_other_doc_count":0,"buckets":[
			{"key":1,"key_as_string":"true","doc_count":2},{"key":0,"key_as_string":"false","doc_count":1}]},
		"by_key":{"doc_count_error_upper_bound":0,"sum_other_doc_count":1,"buckets":[
			{"key":10,"doc_count":1},{"key":3,"doc_count":1}]}}`)
	if !reflect.DeepEqual(aggs, want) {
		t.Fatalf("aggregations = %v\nwant %v", aggs, want)
	}
	if got := out["hits"].(map[string]any)["hits"].([]any); len(got) != 0 {
		t.Fatalf("size 0 returned hits %v", got)
	}
}

func TestSearchErrors(t *testing.T) {
	f := shop(t)
	f.must(t, http.MethodPut, "/small", `{"settings":{"index":{"max_result_window":2}}}`)
	tests := []struct {
		name, path, body, rootType string
		status                     int
	}{
		{"sort on a text field", "/shop/_search", `{"sort":["title"]}`, "illegal_argument_exception", 400},
		{"terms agg on a text field", "/shop/_search", `{"aggs":{"x":{"terms":{"field":"title"}}}}`, "illegal_argument_exception", 400},
		{"sort on an unmapped field", "/shop/_search", `{"sort":["nope"]}`, "query_shard_exception", 400},
		{"unknown query", "/shop/_search", `{"query":{"fuzzy_wuzzy":{}}}`, "parsing_exception", 400},
		{"missing index", "/nope/_search", `{}`, "index_not_found_exception", 404},
		{"size past max_result_window", "/shop/_search", `{"size":10001}`, "illegal_argument_exception", 400},
		{"from + size past max_result_window", "/shop/_search", `{"from":9999,"size":2}`, "illegal_argument_exception", 400},
		{"past the index's own max_result_window", "/small/_search", `{"size":3}`, "illegal_argument_exception", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := f.do(t, http.MethodPost, tt.path, tt.body)
			root := out["error"].(map[string]any)["root_cause"].([]any)[0].(map[string]any)
			if status != tt.status || root["type"] != tt.rootType {
				t.Fatalf("got %d %v, want %d %s", status, out, tt.status, tt.rootType)
			}
		})
	}
}

func TestRefreshVisibility(t *testing.T) {
	f := start(t)
	f.must(t, http.MethodPut, "/t", "")
	count := func() float64 {
		return f.must(t, http.MethodGet, "/t/_count", "")["count"].(float64)
	}
	f.must(t, http.MethodPost, "/_bulk", `{"index":{"_index":"t","_id":"1"}}`+"\n"+`{"a":1}`+"\n")
	if n := count(); n != 0 {
		t.Fatalf("count before refresh = %v, want 0 (near real time)", n)
	}
	if got := f.must(t, http.MethodGet, "/t/_doc/1", ""); got["found"] != true {
		t.Fatalf("GET is real time, got %v", got)
	}
	f.must(t, http.MethodPost, "/t/_refresh", "")
	if n := count(); n != 1 {
		t.Fatalf("count after _refresh = %v, want 1", n)
	}
	f.must(t, http.MethodPost, "/_bulk", `{"index":{"_index":"t","_id":"2"}}`+"\n"+`{"a":2}`+"\n")
	f.now = f.now.Add(time.Second)
	if n := count(); n != 2 {
		t.Fatalf("count after refresh_interval = %v, want 2", n)
	}
}

func TestTemplateAppliesOnAutoCreate(t *testing.T) {
	f := shop(t)
	out := f.must(t, http.MethodGet, "/shop-1", "")
	ix := out["shop-1"].(map[string]any)
	props := ix["mappings"].(map[string]any)["properties"].(map[string]any)
	if !reflect.DeepEqual(props["brand"], map[string]any{"type": "keyword"}) {
		t.Fatalf("brand mapping = %v", props["brand"])
	}
	// A field not in the template is mapped dynamically.
	f.must(t, http.MethodPost, "/_bulk", `{"index":{"_index":"shop-1","_id":"x"}}`+"\n"+`{"color":"red","n":1,"f":1.5,"when":"2026-03-01"}`+"\n")
	props = f.must(t, http.MethodGet, "/shop-1", "")["shop-1"].(map[string]any)["mappings"].(map[string]any)["properties"].(map[string]any)
	want := jsonOf(t, `{"color":{"type":"text","fields":{"keyword":{"type":"keyword","ignore_above":256}}},
		"n":{"type":"long"},"f":{"type":"float"},"when":{"type":"date"}}`)
	for k, v := range want {
		if !reflect.DeepEqual(props[k], v) {
			t.Errorf("dynamic mapping of %s = %v, want %v", k, props[k], v)
		}
	}
	aliases := ix["aliases"].(map[string]any)
	if _, ok := aliases["shop"]; !ok {
		t.Errorf("aliases = %v", aliases)
	}
}

func TestMappingErrors(t *testing.T) {
	tests := []struct {
		name, source, errType, reason, cause string
	}{
		{"string in a long field", `{"qty":"lots"}`, "document_parsing_exception",
			"[1:8] failed to parse field [qty] of type [long] in document with id '1'. Preview of field's value: 'lots'", `For input string: "lots"`},
		{"bad date", `{"added":"yesterday"}`, "document_parsing_exception",
			"[1:10] failed to parse field [added] of type [date] in document with id '1'. Preview of field's value: 'yesterday'",
			"failed to parse date field [yesterday] with format [strict_date_optional_time||epoch_millis]"},
		{"bad boolean", `{"on_sale":"maybe"}`, "document_parsing_exception",
			"[1:12] failed to parse field [on_sale] of type [boolean] in document with id '1'. Preview of field's value: 'maybe'",
			"Failed to parse value [maybe] as only [true] or [false] are allowed."},
		{"metadata field in source", `{"_id":"x"}`, "document_parsing_exception",
			"[1:8] Field [_id] is a metadata field and cannot be added inside a document. Use the index API request parameters.", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := shop(t)
			out := f.must(t, http.MethodPost, "/_bulk", `{"index":{"_index":"shop","_id":"1"}}`+"\n"+tt.source+"\n")
			it := item(t, out)
			e := it["error"].(map[string]any)
			if it["status"] != 400.0 || e["type"] != tt.errType || e["reason"] != tt.reason {
				t.Fatalf("item = %v\nwant 400 %s %q", it, tt.errType, tt.reason)
			}
			if tt.cause != "" && e["caused_by"].(map[string]any)["reason"] != tt.cause {
				t.Fatalf("caused_by = %v, want %q", e["caused_by"], tt.cause)
			}
		})
	}
	t.Run("disabled object takes any JSON", func(t *testing.T) {
		f := shop(t)
		for _, src := range []string{`{"raw":"text"}`, `{"raw":[1,"two",{"three":3},[4]]}`, `{"raw":{"":1,"a.b":[true]}}`} {
			out := f.must(t, http.MethodPost, "/_bulk", `{"index":{"_index":"shop","_id":"1"}}`+"\n"+src+"\n")
			if out["errors"] != false {
				t.Fatalf("%s refused: %v", src, out)
			}
		}
	})
	t.Run("strict mapping refuses new fields", func(t *testing.T) {
		f := start(t)
		f.must(t, http.MethodPut, "/s", `{"mappings":{"dynamic":"strict","properties":{"a":{"type":"long"}}}}`)
		out := f.must(t, http.MethodPost, "/_bulk", `{"index":{"_index":"s","_id":"1"}}`+"\n"+`{"a":1,"b":2}`+"\n")
		e := item(t, out)["error"].(map[string]any)
		if e["type"] != "strict_dynamic_mapping_exception" || !strings.Contains(e["reason"].(string), "dynamic introduction of [b] within [_doc] is not allowed") {
			t.Fatalf("error = %v", e)
		}
	})
}

// TestNumericSubField: a keyword holding a decimal's exact digits with a
// double sub-field, as the sink maps a numeric without precision. The
// keyword keeps the text as sent; the sub-field compares by value, and
// with ignore_malformed a value beyond double's range leaves the doc
// indexed without it, while a sub-field without it fails the doc.
func TestNumericSubField(t *testing.T) {
	f := start(t)
	f.must(t, http.MethodPut, "/n", `{"mappings":{"properties":{
		"total":{"type":"keyword","fields":{"number":{"type":"double","ignore_malformed":true}}},
		"strict":{"type":"keyword","fields":{"number":{"type":"double"}}}}}}`)
	f.must(t, http.MethodPost, "/_bulk?refresh=true", `{"index":{"_index":"n","_id":"a"}}
{"total":9.00}
{"index":{"_index":"n","_id":"b"}}
{"total":12.50}
{"index":{"_index":"n","_id":"c"}}
{"total":"100.00"}
{"index":{"_index":"n","_id":"huge"}}
{"total":"1e400"}
`)
	tests := []struct {
		name, body string
		want       []string
	}{
		{"the keyword keeps the digits as sent", `{"query":{"term":{"total":"12.50"}}}`, []string{"b"}},
		{"term by value", `{"query":{"term":{"total.number":12.5}}}`, []string{"b"}},
		{"range by value", `{"query":{"range":{"total.number":{"gte":10}}}}`, []string{"b", "c"}},
		{"sort by value", `{"sort":[{"total.number":"desc"}],"size":3}`, []string{"c", "b", "a"}},
		{"a malformed value is only in the keyword", `{"query":{"term":{"total":"1e400"}}}`, []string{"huge"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ids(t, f.must(t, http.MethodPost, "/n/_search", tt.body)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ids %v, want %v", got, tt.want)
			}
		})
	}
	out := f.must(t, http.MethodPost, "/_bulk", `{"index":{"_index":"n","_id":"x"}}
{"strict":1e400}
`)
	item := out["items"].([]any)[0].(map[string]any)["index"].(map[string]any)
	if item["status"] != float64(400) {
		t.Errorf("a sub-field without ignore_malformed took 1e400: %v", item)
	}
}

// TestIgnoredFieldsListed: a value ignore_malformed lets through, or a
// keyword value over ignore_above, is not indexed, and its field is listed
// in the doc's _ignored metadata field, which gets and search hits return
// and term, terms and exists queries match (reference: _ignored field).
func TestIgnoredFieldsListed(t *testing.T) {
	f := start(t)
	f.must(t, http.MethodPut, "/ig", `{"mappings":{"properties":{
		"n":{"type":"double","ignore_malformed":true},
		"at":{"type":"date","ignore_malformed":true},
		"k":{"type":"keyword","ignore_above":3}}}}`)
	f.must(t, http.MethodPost, "/_bulk?refresh=true", `{"index":{"_index":"ig","_id":"ok"}}
{"n":1.5,"at":"2024-01-02","k":"abc"}
{"index":{"_index":"ig","_id":"nan"}}
{"n":"NaN","at":"infinity"}
{"index":{"_index":"ig","_id":"long"}}
{"k":"abcd"}
`)
	got := f.must(t, http.MethodGet, "/ig/_doc/nan", "")
	if !reflect.DeepEqual(got["_ignored"], []any{"at", "n"}) {
		t.Errorf("GET _ignored = %v, want [at n]", got["_ignored"])
	}
	if src := got["_source"].(map[string]any); src["n"] != "NaN" || src["at"] != "infinity" {
		t.Errorf("_source %v, want the values as sent", src)
	}
	if got := f.must(t, http.MethodGet, "/ig/_doc/ok", ""); got["_ignored"] != nil {
		t.Errorf("GET of a doc with nothing ignored: _ignored = %v", got["_ignored"])
	}
	hits := f.must(t, http.MethodPost, "/ig/_search", `{"query":{"ids":{"values":["long"]}}}`)["hits"].(map[string]any)["hits"].([]any)
	if ig := hits[0].(map[string]any)["_ignored"]; !reflect.DeepEqual(ig, []any{"k"}) {
		t.Errorf("hit _ignored = %v, want [k]", ig)
	}
	tests := []struct{ name, query, want string }{
		{"exists _ignored", `{"exists":{"field":"_ignored"}}`, "long,nan"},
		{"term _ignored", `{"term":{"_ignored":"n"}}`, "nan"},
		{"terms _ignored", `{"terms":{"_ignored":["k","at"]}}`, "long,nan"},
		{"a malformed value is not indexed", `{"exists":{"field":"n"}}`, "ok"},
		{"nor is a date", `{"range":{"at":{"lte":"now"}}}`, "ok"},
	}
	for _, tt := range tests {
		if got := sortedIDs(t, f, "/ig/_search", `{"query":`+tt.query+`}`); strings.Join(got, ",") != tt.want {
			t.Errorf("%s: %v, want [%s]", tt.name, got, tt.want)
		}
	}
}
