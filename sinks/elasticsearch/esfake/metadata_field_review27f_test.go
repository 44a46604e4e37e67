package esfake

import (
	"net/http"
	"testing"
)

// TestR27fMappingOfMetadataFieldRefused: Elasticsearch 8 refuses a mapping
// whose properties name one of its metadata fields at the root ("_id",
// "_routing", "_ignored", …). MappingLookup.fromMapping puts the metadata
// mappers among the field mappers before the root's own fields, and the
// MappingLookup constructor then throws MapperParsingException("Field [_id]
// is defined more than once") (elastic/elasticsearch#15243, which closed
// #15057 "Mapping properties._id causes conflicts"). PUT _index_template
// parses the template's mappings the same way
// (MetadataIndexTemplateService.validateIndexTemplateV2) and answers 400
// illegal_argument_exception "composable template [t] template after
// composition is invalid"; PUT /{index} answers 400 too.
//
// The fake stores such a mapping and creates indices from it: the sink's
// template for a view with a top-level field "_id" — the key field of
// every MongoDB collection, and the default name of a view field mapping it
// — is taken, the view's documents are refused one by one (the fake does
// refuse "_id" inside a document), and the tests never see that on a real
// cluster Setup itself fails, so `projector run` does not start at all
// (stack.go: a non-outage Setup error is fatal) on a file `validate`
// accepts.
func TestR27fMappingOfMetadataFieldRefused(t *testing.T) {
	for _, field := range []string{"_id", "_routing", "_ignored"} {
		t.Run(field, func(t *testing.T) {
			f := start(t)
			mapping := `{"properties":{"` + field + `":{"type":"keyword"},"name":{"type":"text"}}}`
			status, out := f.do(t, http.MethodPut, "/_index_template/t",
				`{"index_patterns":["t-*"],"template":{"mappings":`+mapping+`}}`)
			e, _ := out["error"].(map[string]any)
			if status != http.StatusBadRequest || e["type"] != "illegal_argument_exception" ||
				e["reason"] != "composable template [t] template after composition is invalid" {
				t.Errorf("PUT template mapping %s = %d %v,\nwant 400 illegal_argument_exception \"composable template [t] template after composition is invalid\" (Field [%s] is defined more than once)",
					field, status, out, field)
			}
			status, out = f.do(t, http.MethodPut, "/i1", `{"mappings":`+mapping+`}`)
			if status != http.StatusBadRequest {
				t.Errorf("PUT index mapping %s = %d %v, want 400 (Field [%s] is defined more than once)", field, status, out, field)
			}
		})
	}
}
