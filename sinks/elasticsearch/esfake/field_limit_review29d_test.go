package esfake

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestR29dTemplateOverTotalFieldsLimitRefused: Elasticsearch counts every
// field and object mapper and every multi-field against
// index.mapping.total_fields.limit (1000 by default) whenever it merges a
// mapping, a template's included (MappingLookup.checkFieldLimit, run by
// DocumentMapper.validate for MergeReason.INDEX_TEMPLATE too), and refuses
// it with illegal_argument_exception "Limit of total fields [1000] has been
// exceeded". The fake takes any number of fields. The sink maps each text
// column as text plus a .keyword multi-field (two fields) and sets no
// higher limit, so a view of 500 text columns cannot be set up on a real
// cluster (`projector run` fails at every start) while every test against
// the fake passes.
func TestR29dTemplateOverTotalFieldsLimitRefused(t *testing.T) {
	f := start(t)
	props := make([]string, 0, 501)
	for i := range 501 {
		props = append(props, fmt.Sprintf(`"f%d":{"type":"text","fields":{"keyword":{"type":"keyword","ignore_above":256}}}`, i))
	}
	status, out := f.do(t, http.MethodPut, "/_index_template/t",
		`{"index_patterns":["t-*"],"template":{"mappings":{"properties":{`+strings.Join(props, ",")+`}}}}`)
	if status != http.StatusBadRequest {
		t.Fatalf("PUT template of 501 text fields with a keyword sub-field each (1002 fields) = %d %v, want 400: over index.mapping.total_fields.limit (1000)", status, out)
	}
	status, out = f.do(t, http.MethodPut, "/u-1",
		`{"mappings":{"properties":{`+strings.Join(props, ",")+`}}}`)
	e, _ := out["error"].(map[string]any)
	if reason, _ := e["reason"].(string); status != http.StatusBadRequest || e["type"] != "illegal_argument_exception" || !strings.Contains(reason, "Limit of total fields [1000]") {
		t.Fatalf("create index with 1002 fields = %d %v, want 400 illegal_argument_exception \"Limit of total fields [1000] has been exceeded\"", status, out)
	}
}
