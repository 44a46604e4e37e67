package esfake

import (
	"net/http"
	"testing"
)

// TestR12eTemplateWithInvalidMappingRefused: Elasticsearch validates a
// composable index template's mappings when it is put
// (MetadataIndexTemplateService.validateIndexTemplateV2): a field type no
// installed mapper handles, or a parameter the field type does not take,
// makes PUT _index_template fail with 400 illegal_argument_exception
// "composable template [t] template after composition is invalid", caused
// by "invalid composite mappings for [t]" and the mapper_parsing_exception
// ("No handler for type [murmur3] declared on field [status]" without the
// mapper-murmur3 plugin, "unknown parameter [ignore_above] on mapper
// [title] of type [text]"). The fake
// stores any mapping. The sink puts each view's mapping overrides into its
// template unchecked (config validation only refuses type names a typo
// away from a known one, and checks no parameters): with the fake, Setup
// of such a view succeeds and every write is taken; on a real cluster
// Setup fails and nothing of any view is written.
func TestR12eTemplateWithInvalidMappingRefused(t *testing.T) {
	for _, tc := range []struct{ name, field, def string }{
		{"unknown type", "status", `{"type":"murmur3"}`},
		{"parameter the type does not take", "title", `{"type":"text","ignore_above":256}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := start(t)
			status, out := f.do(t, http.MethodPut, "/_index_template/t",
				`{"index_patterns":["t-*"],"template":{"mappings":{"properties":{"`+tc.field+`":`+tc.def+`}}}}`)
			e, _ := out["error"].(map[string]any)
			if status != http.StatusBadRequest || e["type"] != "illegal_argument_exception" ||
				e["reason"] != "composable template [t] template after composition is invalid" {
				t.Fatalf("PUT template with %s = %d %v,\nwant 400 illegal_argument_exception \"composable template [t] template after composition is invalid\"", tc.def, status, out)
			}
		})
	}
}
