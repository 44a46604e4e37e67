package esfake

import (
	"net/http"
	"testing"
)

// TestR13MappingParametersElasticsearch8Takes: mapcheck.go refuses any
// parameter outside its per-type lists, but Elasticsearch 8 takes more
// than those lists hold: synthetic_source_keep ("none", "arrays", "all")
// is a parameter of every field mapper since 8.15 (the Elasticsearch
// specification's PropertyBase, elasticsearch-specification PR 3596; the
// object mapper parses it too). With
// the fake a view's mapping override using one makes Setup fail, where a
// real cluster creates the template and the index: the sink's tests lie
// the other way.
func TestR13MappingParametersElasticsearch8Takes(t *testing.T) {
	for _, tc := range []struct{ name, def string }{
		{"synthetic_source_keep on keyword", `{"type":"keyword","synthetic_source_keep":"arrays"}`},
		{"synthetic_source_keep on object", `{"type":"object","synthetic_source_keep":"all"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := start(t)
			status, out := f.do(t, http.MethodPut, "/_index_template/t",
				`{"index_patterns":["t-*"],"template":{"mappings":{"properties":{"f":`+tc.def+`}}}}`)
			if status != http.StatusOK {
				t.Errorf("PUT template with %s = %d %v, want 200", tc.def, status, out)
			}
			status, out = f.do(t, http.MethodPut, "/i1", `{"mappings":{"properties":{"f":`+tc.def+`}}}`)
			if status != http.StatusOK {
				t.Errorf("PUT index with %s = %d %v, want 200", tc.def, status, out)
			}
		})
	}
}
