package esfake

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// textProps is the properties of n text fields with a keyword
// multi-field each: 2n fields.
func textProps(n int) string {
	props := make([]string, 0, n)
	for i := range n {
		props = append(props, fmt.Sprintf(`"f%d":{"type":"text","fields":{"keyword":{"type":"keyword"}}}`, i))
	}
	return `{` + strings.Join(props, ",") + `}`
}

// TestTotalFieldsLimitSetting: index.mapping.total_fields.limit in a
// template's settings lets its mapping, and the indices created from it,
// have more fields; exactly the limit is within it.
func TestTotalFieldsLimitSetting(t *testing.T) {
	f := start(t)
	f.must(t, http.MethodPut, "/_index_template/t",
		`{"index_patterns":["t-*"],"template":{"settings":{"index":{"mapping":{"total_fields":{"limit":1002}}}},"mappings":{"properties":`+textProps(501)+`}}}`)
	f.must(t, http.MethodPut, "/t-1", "")
	// 500 text fields and their keywords: 1000, the default limit.
	f.must(t, http.MethodPut, "/u-1", `{"mappings":{"properties":`+textProps(500)+`}}`)
	status, out := f.do(t, http.MethodPut, "/v-1",
		`{"settings":{"index.mapping.total_fields.limit":"10"},"mappings":{"properties":`+textProps(6)+`}}`)
	if e, _ := out["error"].(map[string]any); status != http.StatusBadRequest || e["reason"] != "Limit of total fields [10] has been exceeded" {
		t.Fatalf("create index of 12 fields with a limit of 10 = %d %v, want 400", status, out)
	}
}

// TestDynamicFieldsOverTotalFieldsLimitRefused: a document whose dynamic
// fields would take the index over its limit is refused, and the mapping
// keeps none of them; one within the limit is taken.
func TestDynamicFieldsOverTotalFieldsLimitRefused(t *testing.T) {
	f := start(t)
	f.must(t, http.MethodPut, "/t-1", `{"settings":{"index.mapping.total_fields.limit":5},"mappings":{"properties":{"a":{"type":"long"}}}}`)
	// b (object), b.c, and c and d with their keywords: 6 new fields, 7
	// in all.
	out := f.must(t, http.MethodPost, "/_bulk", `{"index":{"_index":"t-1","_id":"1"}}
{"a":1,"b":{"c":2},"c":"x","d":"y"}
`)
	item := out["items"].([]any)[0].(map[string]any)["index"].(map[string]any)
	e, _ := item["error"].(map[string]any)
	if reason, _ := e["reason"].(string); item["status"] != float64(http.StatusBadRequest) || e["type"] != "document_parsing_exception" ||
		!strings.Contains(reason, "Limit of total fields [5] has been exceeded while adding new fields [6]") {
		t.Fatalf("doc over the limit: %v, want 400 document_parsing_exception", item)
	}
	out = f.must(t, http.MethodGet, "/t-1", "")
	props := out["t-1"].(map[string]any)["mappings"].(map[string]any)["properties"].(map[string]any)
	if len(props) != 1 {
		t.Fatalf("mapping after the refused doc: %v, want only a", props)
	}
	out = f.must(t, http.MethodPost, "/_bulk", `{"index":{"_index":"t-1","_id":"2"}}
{"a":1,"b":{"c":2,"d":[{"e":1},{"e":2}]}}
`)
	if out["errors"] != false {
		// a, b, b.c, b.d and b.d.e, met twice.
		t.Fatalf("doc of 5 fields in all: %v, want taken", out)
	}
}
