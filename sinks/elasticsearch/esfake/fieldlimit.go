package esfake

import (
	"fmt"
	"strconv"
)

// Elasticsearch counts the mappers of an index against
// index.mapping.total_fields.limit whenever it merges a mapping: at index
// creation, at the validation of a template, at a dynamic mapping update
// (MappingLookup.checkFieldLimit). Every field and object mapper counts,
// multi-fields and runtime fields included; the root and the metadata
// fields do not.

// defaultTotalFieldsLimit is index.mapping.total_fields.limit's default.
const defaultTotalFieldsLimit = 1000

// totalFieldsLimit is the index.mapping.total_fields.limit of flat index
// settings, or its default when unset or not a whole number.
func totalFieldsLimit(settings map[string]string) int {
	if n, err := strconv.Atoi(settings["index.mapping.total_fields.limit"]); err == nil {
		return n
	}
	return defaultTotalFieldsLimit
}

// totalFields counts the mappers of a mapping as checkFieldLimit does.
func totalFields(mappings map[string]any) int {
	props, _ := mappings["properties"].(map[string]any)
	runtime, _ := mappings["runtime"].(map[string]any)
	return countMappers(props) + len(runtime)
}

// countMappers counts the fields of properties (or multi-fields), each
// with the fields of its own properties and multi-fields.
func countMappers(props map[string]any) int {
	n := 0
	for _, v := range props {
		n++
		if def, ok := v.(map[string]any); ok {
			sub, _ := def["properties"].(map[string]any)
			multi, _ := def["fields"].(map[string]any)
			n += countMappers(sub) + countMappers(multi)
		}
	}
	return n
}

// checkFieldLimit returns the error Elasticsearch raises when a mapping
// has more fields than the limit of the index settings, or nil.
func checkFieldLimit(mappings map[string]any, settings map[string]string) *esError {
	if limit := totalFieldsLimit(settings); totalFields(mappings) > limit {
		return fieldLimitError(limit, "")
	}
	return nil
}

// fieldLimitError is the illegal_argument_exception of a mapping over the
// limit; more, when not empty, ends its reason.
func fieldLimitError(limit int, more string) *esError {
	return &esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("Limit of total fields [%d] has been exceeded%s", limit, more)}
}

// applyUpdates adds the dynamically mapped fields of a parsed document to
// the mappings of ix, whose properties are props, unless the index would
// then have more fields than its index.mapping.total_fields.limit: the
// document is then refused and the mappings stay as they were.
func (p *docParser) applyUpdates(ix *index, props map[string]any) *esError {
	before := totalFields(ix.mappings)
	for _, u := range p.updates {
		u.props[u.name] = u.def
	}
	runtime, _ := ix.mappings["runtime"].(map[string]any)
	after := countMappers(props) + len(runtime)
	if limit := totalFieldsLimit(ix.settings); after > limit {
		// Each update named a field its object did not have, so taking
		// them off restores the mappings.
		for _, u := range p.updates {
			delete(u.props, u.name)
		}
		cause := fieldLimitError(limit, fmt.Sprintf(" while adding new fields [%d]", after-before))
		return &esError{Type: "document_parsing_exception", Reason: p.col(p.updates[0].name) + " failed to parse: " + cause.Reason, Cause: cause}
	}
	if _, ok := ix.mappings["properties"]; !ok {
		ix.mappings["properties"] = props
	}
	return nil
}
