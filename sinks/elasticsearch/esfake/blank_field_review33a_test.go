package esfake

import (
	"net/http"
	"strings"
	"testing"
)

// TestR33aBlankFieldNameRefused: FAILS on the current code.
//
// Elasticsearch 8 refuses a document holding a field whose name is empty or
// only whitespace, wherever it is parsed: DocumentParser.innerParseObject
// checks every FIELD_NAME token with currentFieldName.isBlank() (true for
// "" in Java) and throws DocumentParsingException "Field name cannot contain
// only whitespace: [<path>]" (later 8.x releases first throw "Field name
// cannot be an empty string" for "", which parseDocument wraps as
// "failed to parse: …") — either way a 400 document_parsing_exception bulk
// item (elastic/elasticsearch server/.../index/mapper/DocumentParser.java,
// innerParseObject/throwFieldNameBlank; ObjectMapper.validateFieldName
// refuses "" and blank names in mappings too). esfake only checks the parts of dotted names
// (expandDots), so {"attrs": {"": 1}} and {"attrs": {" ": 1}} are stored,
// and even mapped dynamically under a blank name.
//
// This matters to projector: a jsonb field given a sub-field override
// becomes a dynamic object (sinks/elasticsearch/mapping.go setPath), and
// jsonb keys are arbitrary, so a real cluster refuses such a document (the
// sink dead-letters it) while the tests against esfake see it stored.
// Fix: in docParser.object (esfake/mapping.go) refuse a blank name with
// document_parsing_exception before looking it up.
func TestR33aBlankFieldNameRefused(t *testing.T) {
	f := start(t)
	f.must(t, http.MethodPut, "/blank", `{"mappings":{"properties":{"attrs":{"type":"object","dynamic":true}}}}`)
	for i, src := range []string{`{"attrs":{"":1}}`, `{"attrs":{"   ":"x"}}`, `{"  ":true}`} {
		body := `{"index":{"_index":"blank","_id":"d` + string(rune('0'+i)) + `"}}` + "\n" + src + "\n"
		status, out := f.do(t, http.MethodPost, "/_bulk", body)
		if status != http.StatusOK {
			t.Fatalf("bulk %s: %d %v", src, status, out)
		}
		items, _ := out["items"].([]any)
		if len(items) != 1 {
			t.Fatalf("bulk %s: items %v", src, out["items"])
		}
		item, _ := items[0].(map[string]any)["index"].(map[string]any)
		errObj, _ := item["error"].(map[string]any)
		typ, _ := errObj["type"].(string)
		reason, _ := errObj["reason"].(string)
		if item["status"] != float64(http.StatusBadRequest) || typ != "document_parsing_exception" ||
			!strings.Contains(reason, "Field name cannot") {
			t.Errorf("doc %s: got status %v error %v; want 400 document_parsing_exception \"Field name cannot …\"",
				src, item["status"], item["error"])
		}
	}
	// Nothing of the refused documents may be left in the mapping.
	_, got := f.do(t, http.MethodGet, "/blank", "")
	props := got["blank"].(map[string]any)["mappings"].(map[string]any)["properties"].(map[string]any)
	attrs, _ := props["attrs"].(map[string]any)
	if sub, _ := attrs["properties"].(map[string]any); len(sub) != 0 {
		t.Errorf("blank names mapped dynamically under attrs: %v", sub)
	}
	for name := range props {
		if strings.TrimSpace(name) == "" {
			t.Errorf("blank top-level field %q mapped", name)
		}
	}
}
