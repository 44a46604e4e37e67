package query

import (
	"fmt"
	"strings"

	"github.com/projectorhq/projector/config"
)

// OpenAPI describes the API for the views allowed reports true for (nil:
// all) as an OpenAPI 3.0 document: a schema per view from its field types,
// and per view the paths it supports with their filter parameters.
func (s *Server) OpenAPI(allowed func(string) bool) map[string]any {
	schemas := map[string]any{
		"Error": obj(map[string]any{
			"error":   map[string]any{"type": "string"},
			"code":    map[string]any{"type": "string"},
			"param":   map[string]any{"type": "string"},
			"current": map[string]any{"type": "object", "description": "for 504: each source's partitions and how far they got"},
		}, "error", "code"),
		"ViewList": obj(map[string]any{"views": map[string]any{"type": "array", "items": map[string]any{"type": "object"}}}, "views"),
		"Facet":    obj(map[string]any{"value": map[string]any{}, "count": map[string]any{"type": "integer", "format": "int64"}}, "value", "count"),
	}
	paths := map[string]any{
		"/v1/views": map[string]any{"get": operation("listViews", "The views this token may read: fields, sinks, generation, lag, refresh", nil,
			map[string]any{"$ref": "#/components/schemas/ViewList"})},
		"/v1/openapi.json": map[string]any{"get": operation("openAPI", "This document", nil, map[string]any{"type": "object"})},
	}
	for _, pv := range s.plan.Views {
		v := s.views[pv.Name]
		if allowed != nil && !allowed(v.Name) {
			continue
		}
		name := "View_" + schemaName(v.Name)
		schemas[name] = viewSchema(v)
		ref := map[string]any{"$ref": "#/components/schemas/" + name}
		base := "/v1/views/" + v.Name
		if v.PG != nil || v.Redis != nil {
			idDesc := "the document id"
			if len(v.ID) > 1 {
				idDesc = fmt.Sprintf("the composite id: a JSON array of the values of %s, in that order, e.g. [\"1\",\"2\"]", idNames(v))
			}
			params := append([]any{map[string]any{"name": "id", "in": "path", "required": true, "description": idDesc,
				"schema": map[string]any{"type": "string"}}}, waitParams()...)
			paths[base+"/docs/{id}"] = map[string]any{"get": operation("get_"+schemaName(v.Name), "One document of "+v.Name, params, ref)}
		}
		if v.PG != nil {
			stored := func(f *field) bool { return v.PG.Columns[f.Name] }
			params := append(filterParams(v, stored, allOps, nil, true), sortParam(v, stored, ""), intParam("limit", defaultLimit, 1, maxLimit),
				map[string]any{"name": "cursor", "in": "query", "description": "next_cursor of the previous page", "schema": map[string]any{"type": "string"}})
			page := obj(map[string]any{
				"docs":        map[string]any{"type": "array", "items": ref},
				"next_cursor": map[string]any{"type": "string", "nullable": true},
			}, "docs", "next_cursor")
			paths[base+"/docs"] = map[string]any{"get": operation("list_"+schemaName(v.Name), "A page of "+v.Name+" documents, in keyset order",
				append(params, waitParams()...), page)}
		}
		if v.ES != nil {
			params := append(filterParams(v, func(*field) bool { return true }, esOps, esMaxChars, false),
				map[string]any{"name": "q", "in": "query", "description": "full-text query over the text fields", "schema": map[string]any{"type": "string"}},
				map[string]any{"name": "facets", "in": "query", "description": "comma-separated fields to count values of", "schema": map[string]any{"type": "string"}},
				intParam("facet_size", defaultFacetSize, 1, maxFacetSize), sortParam(v, esSortable, "; a text longer than its keyword's ignore_above (256 characters) sorts as a NULL"), intParam("limit", defaultLimit, 1, maxLimit),
				offsetParam())
			res := obj(map[string]any{
				"docs":   map[string]any{"type": "array", "items": ref},
				"total":  map[string]any{"type": "integer", "format": "int64"},
				"facets": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "array", "items": map[string]any{"$ref": "#/components/schemas/Facet"}}},
			}, "docs", "total", "facets")
			paths[base+"/search"] = map[string]any{"get": operation("search_"+schemaName(v.Name), "Full-text search and facets over "+v.Name,
				append(params, waitParams()...), res)}
		}
	}
	version := s.opts.Version
	if version == "" {
		version = "dev"
	}
	doc := map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "projector query API", "version": version,
			"description": "Read models projected from Debezium change streams. Errors are JSON {error, code}."},
		"paths":      paths,
		"components": map[string]any{"schemas": schemas},
	}
	if s.HasTokens() {
		doc["components"].(map[string]any)["securitySchemes"] = map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}}
		doc["security"] = []any{map[string]any{"bearer": []any{}}}
	}
	return doc
}

func obj(props map[string]any, required ...string) map[string]any {
	o := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

// schemaName keeps a component name within OpenAPI's ^[a-zA-Z0-9._-]+$.
func schemaName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, s)
}

func operation(id, summary string, params []any, schema map[string]any) map[string]any {
	errRef := map[string]any{"description": "error", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
	unavailable := map[string]any{"description": "a store the view is read from is unavailable (code store_unavailable) or did not answer in time (code timeout): retry later",
		"content": errRef["content"]}
	op := map[string]any{
		"operationId": id,
		"summary":     summary,
		"responses": map[string]any{
			"200":     map[string]any{"description": "OK", "content": map[string]any{"application/json": map[string]any{"schema": schema}}},
			"400":     errRef,
			"401":     errRef,
			"403":     errRef,
			"404":     errRef,
			"503":     unavailable,
			"504":     errRef,
			"default": errRef,
		},
	}
	if params != nil {
		op["parameters"] = params
	}
	return op
}

func waitParams() []any {
	return []any{
		map[string]any{"name": "min_position", "in": "query", "description": "read-your-writes: answer once the view reflects this position of a source it reads (orders:0/16B3748, orders:23803720, users:1718000000:3); another source is a 400",
			"schema": map[string]any{"type": "string"}},
		map[string]any{"name": MinPositionHeader, "in": "header", "description": "as min_position", "schema": map[string]any{"type": "string"}},
		map[string]any{"name": "wait", "in": "query", "description": "how long to wait for min_position (default 5s, at most 30s)", "schema": map[string]any{"type": "string"}},
	}
}

func intParam(name string, def, lo, hi int) map[string]any {
	return map[string]any{"name": name, "in": "query", "schema": map[string]any{"type": "integer", "default": def, "minimum": lo, "maximum": hi}}
}

// offsetParam states parseOffset's rule, which a schema of one parameter
// cannot express: offset + limit within Elasticsearch's result window.
func offsetParam() map[string]any {
	p := intParam("offset", 0, 0, maxResultWindow-1)
	p["description"] = fmt.Sprintf("docs to skip; offset + limit must be at most %d (Elasticsearch's result window), else 400 bad_offset", maxResultWindow)
	return p
}

// sortParam describes sort for the fields sortable allows; note adds what
// a store's order does besides.
func sortParam(v *view, sortable func(*field) bool, note string) map[string]any {
	var enum []any
	for _, f := range v.Fields {
		if f.scalar() && sortable(f) {
			enum = append(enum, f.Name, "-"+f.Name)
		}
	}
	schema := map[string]any{"type": "string"}
	if len(enum) > 0 {
		schema["enum"] = enum
	}
	return map[string]any{"name": "sort", "in": "query", "schema": schema,
		"description": "a field, - for descending; the id breaks ties; NULLs come last ascending and first descending" + note}
}

// allOps are the comparisons PostgreSQL applies to every scalar field.
func allOps(*field) []string { return []string{"eq", "gt", "gte", "lt", "lte", "in"} }

// esOps are the comparisons a search applies to a field, as esFilters
// decides them from its mapping.
func esOps(f *field) []string {
	t, ok := esOrdered(f)
	switch {
	case !ok:
		return nil
	case t.Digits:
		return []string{"eq", "in"}
	}
	return allOps(f)
}

// esMaxChars is the longest value eq and in can compare a field with in
// Elasticsearch (its keyword's ignore_above); 0 for no limit.
func esMaxChars(f *field) int {
	t, _ := esTerms(f)
	return t.MaxChars
}

func esSortable(f *field) bool {
	t, ok := esOrdered(f)
	return ok && !t.Digits
}

// filterParams lists field, field[op] and field[in] for every filterable
// field and the operators ops allows it; nested lists embedded objects'
// fields too ("customer.id"). maxChars, when not nil, is the longest
// value a field's eq and in take.
func filterParams(v *view, stored func(*field) bool, ops func(*field) []string, maxChars func(*field) int, nested bool) []any {
	var out []any
	var walk func(prefix string, fs []*field)
	walk = func(prefix string, fs []*field) {
		for _, f := range fs {
			name := prefix + f.Name
			if f.Object != nil && nested {
				walk(name+".", f.Object)
				continue
			}
			if !f.scalar() {
				continue
			}
			limit := 0
			if maxChars != nil {
				limit = maxChars(f)
			}
			out = append(out, opParams(name, f, ops(f), limit)...)
		}
	}
	var top []*field
	for _, f := range v.Fields {
		if stored(f) {
			top = append(top, f)
		}
	}
	walk("", top)
	return out
}

// opParams are the filter parameters of one field for those operators;
// eq and in take values of at most maxChars characters (0: any).
func opParams(name string, f *field, ops []string, maxChars int) []any {
	var out []any
	s := typeSchema(f.Type)
	eqDesc, inDesc := "equals", "one of these comma-separated values"
	if maxChars > 0 {
		limit := fmt.Sprintf(" (each at most %d characters, the keyword's ignore_above: a longer value is a 400 bad_value)", maxChars)
		eqDesc, inDesc = eqDesc+limit, inDesc+limit
	}
	for _, op := range ops {
		switch op {
		case "eq":
			eq := name
			if reserved[name] {
				eq = name + "[eq]" // the bare name is the reserved parameter
			}
			out = append(out, map[string]any{"name": eq, "in": "query", "description": eqDesc, "schema": s})
		case "in":
			out = append(out, map[string]any{"name": name + "[in]", "in": "query", "description": inDesc,
				"schema": map[string]any{"type": "string"}})
		default:
			out = append(out, map[string]any{"name": name + "[" + op + "]", "in": "query", "schema": s})
		}
	}
	return out
}

func viewSchema(v *view) map[string]any {
	props := map[string]any{}
	for _, f := range v.Fields {
		props[f.Name] = fieldSchema(f, contains(v.Plan.ID, f.Name))
	}
	req := make([]string, 0, len(v.ID))
	for _, f := range v.ID {
		req = append(req, f.Name)
	}
	return obj(props, req...)
}

func fieldSchema(f *field, required bool) map[string]any {
	var s map[string]any
	switch {
	case f.Object != nil:
		props := map[string]any{}
		for _, c := range f.Object {
			props[c.Name] = fieldSchema(c, false)
		}
		s = obj(props)
	case f.Array:
		s = map[string]any{"type": "array", "items": map[string]any{"type": "object"}}
	default:
		s = typeSchema(f.Type)
	}
	if !required {
		s["nullable"] = true
	}
	return s
}

// typeSchema is the JSON Schema of a value of SQL type t as the API
// returns it.
func typeSchema(t config.Type) map[string]any {
	if t.Array {
		return map[string]any{"type": "array", "items": typeSchema(config.Type{Name: t.Name, Precision: t.Precision, Scale: t.Scale})}
	}
	switch t.Name {
	case "smallint", "integer":
		return map[string]any{"type": "integer", "format": "int32"}
	case "bigint":
		return map[string]any{"type": "integer", "format": "int64"}
	case "numeric":
		return map[string]any{"type": "number", "description": t.String() + ": exact decimal digits"}
	case "real":
		return map[string]any{"type": "number", "format": "float"}
	case "double precision":
		return map[string]any{"type": "number", "format": "double"}
	case "boolean":
		return map[string]any{"type": "boolean"}
	case "uuid":
		return map[string]any{"type": "string", "format": "uuid"}
	case "date":
		return map[string]any{"type": "string", "format": "date"}
	case "timestamptz":
		return map[string]any{"type": "string", "format": "date-time"}
	case "timestamp", "time":
		return map[string]any{"type": "string", "description": t.String() + " (no time zone)"}
	case "varchar":
		s := map[string]any{"type": "string"}
		if t.Precision > 0 {
			s["maxLength"] = t.Precision
		}
		return s
	case "text":
		return map[string]any{"type": "string"}
	case "bytea":
		return map[string]any{"type": "string", "description": "bytea"}
	}
	return map[string]any{"description": t.String()} // json, jsonb, unknown: any JSON value
}
