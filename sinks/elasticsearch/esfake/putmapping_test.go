package esfake

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func mappingOf(t *testing.T, f *fake, index string) map[string]any {
	t.Helper()
	out := f.must(t, http.MethodGet, "/"+index+"/_mapping", "")
	return out[index].(map[string]any)["mappings"].(map[string]any)
}

// TestPutMappingMergesNewFields: an update adds the fields an index does
// not map, and merges objects and multi-fields field by field; a field
// sent again as mapped is no change, and an updateable parameter
// (ignore_above) changes.
func TestPutMappingMergesNewFields(t *testing.T) {
	f := start(t)
	f.must(t, http.MethodPut, "/t-1", `{"mappings":{"dynamic":true,"properties":{"a":{"type":"long"},
		"o":{"properties":{"x":{"type":"long"}}},"s":{"type":"text"},"k":{"type":"keyword","ignore_above":10}}}}`)
	f.must(t, http.MethodPut, "/t-1/_mapping", `{"properties":{"a":{"type":"long"},"b":{"type":"object","enabled":false},
		"o":{"properties":{"y":{"type":"keyword"}}},"s":{"type":"text","fields":{"raw":{"type":"keyword"}}},
		"k":{"type":"keyword","ignore_above":20}}}`)
	want := jsonOf(t, `{"dynamic":true,"properties":{"a":{"type":"long"},"b":{"type":"object","enabled":false},
		"o":{"properties":{"x":{"type":"long"},"y":{"type":"keyword"}}},"s":{"type":"text","fields":{"raw":{"type":"keyword"}}},
		"k":{"type":"keyword","ignore_above":20}}}`)
	if got := mappingOf(t, f, "t-1"); !reflect.DeepEqual(got, want) {
		t.Fatalf("mapping after the update\n got %v\nwant %v", got, want)
	}
	// b is not parsed: any value goes.
	out := f.must(t, http.MethodPost, "/_bulk", `{"index":{"_index":"t-1","_id":"1"}}
{"b":{"a":1}}
{"index":{"_index":"t-1","_id":"2"}}
{"b":{"a":"x"}}
`)
	if out["errors"] != false {
		t.Fatalf("docs of b mapped enabled false: %v", out)
	}
}

// TestPutMappingRefusesAChangedField: a field's type never changes, nor
// an object's enabled, nor a parameter that is not updateable; the whole
// update is refused with 400 illegal_argument_exception and nothing of it
// applied, its new fields included.
func TestPutMappingRefusesAChangedField(t *testing.T) {
	f := start(t)
	f.must(t, http.MethodPut, "/t-1", `{"mappings":{"properties":{"a":{"type":"long"},"p":{"type":"scaled_float","scaling_factor":10}}}}`)
	// A dynamically mapped object, as {"meta":{"a":1}} makes it.
	f.must(t, http.MethodPost, "/_bulk?refresh=true", `{"index":{"_index":"t-1","_id":"1"}}
{"meta":{"a":1}}
`)
	before := mappingOf(t, f, "t-1")
	for _, tc := range []struct{ update, reason string }{
		{`{"a":{"type":"text"}}`, "mapper [a] cannot be changed from type [long] to [text]"},
		{`{"meta":{"type":"object","enabled":false}}`, "the [enabled] parameter can't be updated for the object mapping [meta]"},
		{`{"meta":{"properties":{"a":{"type":"keyword"}}}}`, "mapper [meta.a] cannot be changed from type [long] to [keyword]"},
		{`{"meta":{"type":"keyword"}}`, "can't merge a non object mapping [meta] with an object mapping"},
		{`{"a":{"properties":{"b":{"type":"long"}}}}`, "mapper [a] cannot be changed from type [long] to [object]"},
		{`{"meta":{"type":"nested"}}`, "can't merge a non-nested mapping [meta] with a nested mapping"},
		{`{"p":{"type":"scaled_float","scaling_factor":100}}`, "Mapper for [p] conflicts with existing mapper:\n\tCannot update parameter [scaling_factor]"},
	} {
		status, out := f.do(t, http.MethodPut, "/t-1/_mapping", `{"properties":{"new":{"type":"keyword"},`+tc.update[1:]+`}`)
		e, _ := out["error"].(map[string]any)
		if reason, _ := e["reason"].(string); status != http.StatusBadRequest || e["type"] != "illegal_argument_exception" || !strings.HasPrefix(reason, tc.reason) {
			t.Errorf("update %s = %d %v, want 400 illegal_argument_exception %q", tc.update, status, out, tc.reason)
		}
	}
	if got := mappingOf(t, f, "t-1"); !reflect.DeepEqual(got, before) {
		t.Errorf("mapping after refused updates\n got %v\nwant %v", got, before)
	}
	// Not a conflict: a field's parameters given again, numbers by value.
	f.must(t, http.MethodPut, "/t-1/_mapping", `{"properties":{"p":{"type":"scaled_float","scaling_factor":10.0}}}`)
}

// TestPutMappingWithinTotalFieldsLimit: the merged mapping must stay
// within index.mapping.total_fields.limit, which an update of the index
// settings may raise.
func TestPutMappingWithinTotalFieldsLimit(t *testing.T) {
	f := start(t)
	f.must(t, http.MethodPut, "/t-1", `{"settings":{"index.mapping.total_fields.limit":3},"mappings":{"properties":{"a":{"type":"long"}}}}`)
	update := `{"properties":{"s":{"type":"text","fields":{"keyword":{"type":"keyword"}}},"b":{"type":"long"}}}`
	status, out := f.do(t, http.MethodPut, "/t-1/_mapping", update)
	if e, _ := out["error"].(map[string]any); status != http.StatusBadRequest || e["type"] != "illegal_argument_exception" ||
		e["reason"] != "Limit of total fields [3] has been exceeded" {
		t.Fatalf("update to 4 fields under a limit of 3 = %d %v, want 400", status, out)
	}
	if props := mappingOf(t, f, "t-1")["properties"].(map[string]any); len(props) != 1 {
		t.Fatalf("mapping after the refused update: %v, want only a", props)
	}
	f.must(t, http.MethodPut, "/t-1/_settings", `{"index":{"mapping":{"total_fields":{"limit":4}}}}`)
	f.must(t, http.MethodPut, "/t-1/_mapping", update)
	settings := f.must(t, http.MethodGet, "/t-1/_settings", "")
	limit := settings["t-1"].(map[string]any)["settings"].(map[string]any)["index"].(map[string]any)["mapping"].(map[string]any)["total_fields"].(map[string]any)["limit"]
	if limit != "4" {
		t.Errorf("total_fields.limit = %v, want \"4\" (settings are strings)", limit)
	}
}

// TestPutMappingAndSettingsErrors: a missing index is 404; a mapping's
// unknown type or root parameter, and a static or private setting of an
// open index, are refused.
func TestPutMappingAndSettingsErrors(t *testing.T) {
	f := start(t)
	f.must(t, http.MethodPut, "/t-1", "")
	for _, tc := range []struct {
		method, path, body string
		status             int
		typ, reason        string
	}{
		{http.MethodGet, "/nope/_mapping", "", 404, "index_not_found_exception", "no such index [nope]"},
		{http.MethodPut, "/nope/_mapping", `{"properties":{}}`, 404, "index_not_found_exception", "no such index [nope]"},
		{http.MethodPut, "/t-1/_mapping", `{"properties":{"a":{"type":"lang"}}}`, 400, "mapper_parsing_exception",
			"Failed to parse mapping: No handler for type [lang] declared on field [a]"},
		{http.MethodPut, "/t-1/_mapping", `{"_doc":{"properties":{}}}`, 400, "mapper_parsing_exception",
			"Root mapping definition has unsupported parameters:  [_doc : {\"properties\":{}}]"},
		{http.MethodPut, "/t-1/_settings", `{"index":{"number_of_shards":2}}`, 400, "illegal_argument_exception",
			"Can't update non dynamic settings [[index.number_of_shards]] for open indices [[t-1/"},
		{http.MethodPut, "/t-1/_settings", `{"index.uuid":"x"}`, 400, "illegal_argument_exception",
			"can not update private setting [index.uuid]; this setting is managed by Elasticsearch"},
		{http.MethodPut, "/t-1/_settings", `{"index.mapping.total_fields.limit":"many"}`, 400, "illegal_argument_exception",
			"Failed to parse value [many] for setting [index.mapping.total_fields.limit]"},
	} {
		status, out := f.do(t, tc.method, tc.path, tc.body)
		e, _ := out["error"].(map[string]any)
		if reason, _ := e["reason"].(string); status != tc.status || e["type"] != tc.typ || !strings.HasPrefix(reason, tc.reason) {
			t.Errorf("%s %s %s = %d %v, want %d %s %q", tc.method, tc.path, tc.body, status, out, tc.status, tc.typ, tc.reason)
		}
	}
}
