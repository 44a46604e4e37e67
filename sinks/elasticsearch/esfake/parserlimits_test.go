package esfake

import (
	"net/http"
	"strings"
	"testing"
)

// TestParserConstraints: a source is refused as Jackson's parser refuses
// it past its number length (digits, not sign, point or "e") and nesting
// depth (the document's object counting one), wherever the token is: a
// 400 document_parsing_exception at the token's [line:col], caused by a
// stream_constraints_exception. Up to the limits, and inside strings, the
// document is stored.
func TestParserConstraints(t *testing.T) {
	f := start(t)
	f.must(t, http.MethodPut, "/pc", `{"mappings":{"properties":{"n":{"type":"keyword"},"raw":{"type":"object","enabled":false}}}}`)
	digits := strings.Repeat("7", maxNumberLength)
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	numberMsg := "Number value length (1001) exceeds the maximum allowed (1000, from `StreamReadConstraints.getMaxNumberLength()`)"
	depthMsg := "Document nesting depth (1001) exceeds the maximum allowed (1000, from `StreamReadConstraints.getMaxNestingDepth()`)"
	for _, tc := range []struct {
		name, src, reason string // reason "": stored
	}{
		{"1000 digits", `{"n":-` + digits[2:] + `.5e0}`, ""},
		{"1001 digits", `{"n":-` + digits + `.5}`, "[1:6] failed to parse: Number value length (1001)"},
		{"1001 digits of an exponent", `{"raw":[1e` + digits + `]}`, "[1:9] failed to parse: " + numberMsg},
		{"digits in strings", `{"n":"` + digits + `1","raw":{"` + digits + `1":"` + deep(1001) + `"}}`, ""},
		{"1000 deep", `{"raw":` + deep(999) + `}`, ""},
		{"1001 deep", `{"raw":{"a":` + deep(999) + `}}`, "[1:1011] failed to parse: " + depthMsg},
	} {
		status, out := f.do(t, http.MethodPost, "/_bulk", `{"index":{"_index":"pc","_id":"1"}}`+"\n"+tc.src+"\n")
		items, _ := out["items"].([]any)
		if status != http.StatusOK || len(items) != 1 {
			t.Fatalf("%s: bulk answered %d %v", tc.name, status, out)
		}
		item, _ := items[0].(map[string]any)["index"].(map[string]any)
		errObj, _ := item["error"].(map[string]any)
		if tc.reason == "" {
			if errObj != nil {
				t.Errorf("%s: refused: %v", tc.name, errObj)
			}
			continue
		}
		cause, _ := errObj["caused_by"].(map[string]any)
		reason, _ := errObj["reason"].(string)
		causeReason, _ := cause["reason"].(string)
		if item["status"] != float64(http.StatusBadRequest) || errObj["type"] != "document_parsing_exception" ||
			!strings.HasPrefix(reason, tc.reason) || cause["type"] != "stream_constraints_exception" ||
			!strings.HasSuffix(reason, ": "+causeReason) {
			t.Errorf("%s: item %v, error %v; want 400 document_parsing_exception %q… caused by stream_constraints_exception",
				tc.name, item["status"], errObj, tc.reason)
		}
	}
}
