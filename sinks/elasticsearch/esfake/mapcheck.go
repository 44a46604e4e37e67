package esfake

import (
	"fmt"
	"slices"
	"sort"
)

// Elasticsearch 8 parses a mapping when an index is created or a
// composable template is put, and refuses a field type no mapper handles
// ("No handler for type [x] declared on field [f]") and a parameter its
// type does not take ("unknown parameter [p] on mapper [f] of type [t]").

// fieldTypes are the types of Elasticsearch 8 without plugins, each with
// the parameters its mapper takes beside type, meta, fields, copy_to and
// synthetic_source_keep (which every field mapper parses, the last since
// 8.15). nil: not checked here, any is taken.
var fieldTypes = map[string][]string{
	"text": {"analyzer", "search_analyzer", "search_quote_analyzer", "index", "store", "index_options", "norms",
		"term_vector", "similarity", "fielddata", "eager_global_ordinals", "fielddata_frequency_filter",
		"index_phrases", "index_prefixes", "position_increment_gap"},
	"keyword": {"doc_values", "eager_global_ordinals", "ignore_above", "index", "index_options", "norms", "null_value",
		"on_script_error", "script", "store", "similarity", "normalizer", "split_queries_on_whitespace",
		"time_series_dimension"},
	"long": numericParams, "integer": numericParams, "short": numericParams, "byte": numericParams,
	"double": numericParams, "float": numericParams, "half_float": numericParams, "unsigned_long": numericParams,
	"scaled_float": append([]string{"scaling_factor"}, numericParams...),
	"date":         dateParams, "date_nanos": dateParams,
	"boolean": {"doc_values", "index", "null_value", "on_script_error", "script", "store", "ignore_malformed"},
	"ip":      {"doc_values", "ignore_malformed", "index", "null_value", "on_script_error", "script", "store", "time_series_dimension"},
	"binary":  {"doc_values", "store"},
	"object":  {"dynamic", "enabled", "properties", "subobjects"},
	"nested":  {"dynamic", "enabled", "properties", "include_in_parent", "include_in_root"},

	"aggregate_metric_double": nil, "alias": nil, "completion": nil, "constant_keyword": nil, "counted_keyword": nil,
	"date_range": nil, "dense_vector": nil, "double_range": nil, "flattened": nil, "float_range": nil, "geo_point": nil,
	"geo_shape": nil, "histogram": nil, "integer_range": nil, "ip_range": nil, "join": nil, "long_range": nil,
	"match_only_text": nil, "passthrough": nil, "percolator": nil, "point": nil, "rank_feature": nil,
	"rank_features": nil, "search_as_you_type": nil, "semantic_text": nil, "shape": nil, "sparse_vector": nil,
	"token_count": nil, "version": nil, "wildcard": nil,
}

var (
	numericParams = []string{"coerce", "doc_values", "ignore_malformed", "index", "null_value", "on_script_error",
		"script", "store", "time_series_dimension", "time_series_metric"}
	dateParams = []string{"doc_values", "format", "locale", "ignore_malformed", "index", "null_value",
		"on_script_error", "script", "store"}
)

// checkMapping returns the mapper_parsing_exception a mapping's
// properties would raise, or nil.
func checkMapping(mappings map[string]any) *esError {
	props, _ := mappings["properties"].(map[string]any)
	// A metadata field is a field mapper of the index already: defining
	// it among the root's properties defines it twice (MappingLookup).
	names := make([]string, 0, len(props))
	for n := range props {
		if metadataFields[n] {
			names = append(names, n)
		}
	}
	if len(names) > 0 {
		sort.Strings(names)
		return &esError{Type: "mapper_parsing_exception", Reason: "Field [" + names[0] + "] is defined more than once"}
	}
	return checkProperties("", props)
}

func checkProperties(prefix string, props map[string]any) *esError {
	names := make([]string, 0, len(props))
	for n := range props {
		names = append(names, n)
	}
	sort.Strings(names) // the first problem, the same every time
	for _, n := range names {
		def, _ := props[n].(map[string]any)
		if def == nil {
			continue
		}
		if e := checkField(prefix+n, n, def); e != nil {
			return e
		}
	}
	return nil
}

func checkField(path, name string, def map[string]any) *esError {
	typ, _ := def["type"].(string)
	if typ == "" {
		typ = "object" // a field without a type is an object, properties or not
	}
	params, known := fieldTypes[typ]
	if !known {
		return &esError{Type: "mapper_parsing_exception",
			Reason: fmt.Sprintf("No handler for type [%s] declared on field [%s]", typ, name)}
	}
	if params != nil {
		for p := range def {
			switch p {
			case "type", "meta", "fields", "copy_to", "synthetic_source_keep", "properties":
				if p == "properties" && typ != "object" && typ != "nested" {
					break
				}
				continue
			}
			if !slices.Contains(params, p) {
				return &esError{Type: "mapper_parsing_exception",
					Reason: fmt.Sprintf("unknown parameter [%s] on mapper [%s] of type [%s]", p, path, typ)}
			}
		}
	}
	if sub, ok := def["properties"].(map[string]any); ok {
		if e := checkProperties(path+".", sub); e != nil {
			return e
		}
	}
	if multi, ok := def["fields"].(map[string]any); ok {
		if e := checkProperties(path+".", multi); e != nil {
			return e
		}
	}
	return nil
}
