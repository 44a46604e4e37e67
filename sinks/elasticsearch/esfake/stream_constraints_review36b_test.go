package esfake

import (
	"net/http"
	"strings"
	"testing"
)

// TestR36BParserStreamConstraints: FAILS on the current code.
//
// Elasticsearch 8.8 and later parse every JSON document with Jackson 2.15+
// and relax only its string-length constraint
// (libs/x-content/impl/.../XContentImplUtils.configure:
// StreamReadConstraints.builder().maxStringLength(Integer.MAX_VALUE); the
// name length was relaxed later, elastic/elasticsearch#126806). Jackson's
// other defaults stand: a number token of more than 1000 characters
// (maxNumberLength) and an object/array nesting deeper than 1000
// (maxNestingDepth) make the parser throw a StreamConstraintsException,
// which the primary shard reports as a 400 document_parsing_exception bulk
// item ("failed to parse: Number value length (1402) exceeds the maximum
// allowed (1000, from `StreamReadConstraints.getMaxNumberLength()`)",
// caused_by stream_constraints_exception; the same shape Elasticsearch
// gave for the string limit in elastic/elasticsearch#96036). The check is
// the tokenizer's, so it applies whatever the mapping: inside an
// "enabled": false object too, which is still read token by token to be
// skipped.
//
// esfake decodes sources with Go's encoding/json, which has neither limit,
// and stores both documents. That hides a refusal from projector's tests:
// the engine hands the sink sums and averages of numerics, and the numbers
// inside json/jsonb values, as json.Number (number literals), PostgreSQL's numeric
// holds 131072 digits before the point, and the README promises such a
// value is "kept in _source but not indexed instead of refusing the
// document" (TestReview7LongNumericNotRefused passes only because esfake
// takes any number, and because it hands the sink a Go string where the
// engine hands it a json.Number).
func TestR36BParserStreamConstraints(t *testing.T) {
	f := start(t)
	f.must(t, http.MethodPut, "/sc", `{"mappings":{"properties":{"total":{"type":"keyword"},"body":{"type":"object","enabled":false}}}}`)
	longNumber := "1" + strings.Repeat("0", 1400) + ".5"
	deep := strings.Repeat("[", 1001) + strings.Repeat("]", 1001)
	for _, tc := range []struct{ name, src, want string }{
		{"number of 1402 digits", `{"total":` + longNumber + `}`, "Number value length"},
		{"number of 1402 digits inside an enabled:false object", `{"body":{"x":` + longNumber + `}}`, "Number value length"},
		{"nesting 1002 deep inside an enabled:false object", `{"body":` + deep + `}`, "nesting depth"},
	} {
		body := `{"index":{"_index":"sc","_id":"1"}}` + "\n" + tc.src + "\n"
		status, out := f.do(t, http.MethodPost, "/_bulk", body)
		if status != http.StatusOK {
			t.Fatalf("%s: bulk answered %d %v", tc.name, status, out)
		}
		items, _ := out["items"].([]any)
		if len(items) != 1 {
			t.Fatalf("%s: items %v", tc.name, out["items"])
		}
		item, _ := items[0].(map[string]any)["index"].(map[string]any)
		errObj, _ := item["error"].(map[string]any)
		typ, _ := errObj["type"].(string)
		reason, _ := errObj["reason"].(string)
		if item["status"] != float64(http.StatusBadRequest) || typ != "document_parsing_exception" || !strings.Contains(reason, tc.want) {
			t.Errorf("%s: item status %v result %v error %v; want 400 document_parsing_exception (%s …), as Elasticsearch's parser refuses it",
				tc.name, item["status"], item["result"], item["error"], tc.want)
		}
	}
}
