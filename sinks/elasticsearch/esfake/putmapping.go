package esfake

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// The update mapping API (PUT /{target}/_mapping) merges new fields into
// the mappings of existing indices, as MapperService.merge does with
// MergeReason.MAPPING_UPDATE: fields the index does not map are added,
// objects and multi-fields merge field by field, and a field the index
// maps otherwise is refused with 400 illegal_argument_exception (a type
// never changes; of a field's parameters only the updateable ones do).
// The merged mappings must stay within index.mapping.total_fields.limit.
// Nothing is applied unless every target index takes the whole update.

// mappingRootParams are the keys a mapping's root takes; any other is
// refused ("Root mapping definition has unsupported parameters").
var mappingRootParams = map[string]bool{
	"properties": true, "dynamic": true, "_meta": true, "runtime": true, "date_detection": true,
	"numeric_detection": true, "dynamic_templates": true, "dynamic_date_formats": true, "enabled": true,
	"subobjects": true, "_source": true, "_routing": true, "_field_names": true, "_data_stream_timestamp": true,
}

// updateableParams are the field parameters an update may change
// (Parameter.updateable in the field mappers of Elasticsearch 8); any
// other parameter that differs is a conflict.
var updateableParams = map[string]bool{
	"ignore_above": true, "ignore_malformed": true, "coerce": true, "eager_global_ordinals": true,
	"split_queries_on_whitespace": true, "meta": true, "fielddata": true, "fielddata_frequency_filter": true,
	"search_analyzer": true, "search_quote_analyzer": true, "copy_to": true,
}

func (s *Server) handlePutMapping(w http.ResponseWriter, target string, body []byte) {
	update, err := decodeObject(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, parseError(err))
		return
	}
	if e := checkMappingRoot(update); e != nil {
		writeError(w, http.StatusBadRequest, *e)
		return
	}
	if e := checkMapping(update); e != nil {
		writeError(w, http.StatusBadRequest, esError{Type: e.Type, Reason: "Failed to parse mapping: " + e.Reason, Cause: e})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	targets, missing, ok := s.resolve(target)
	if !ok {
		writeError(w, http.StatusNotFound, indexNotFound(missing))
		return
	}
	merged := make([]map[string]any, len(targets))
	for i, t := range targets {
		m, e := mergedMappings(t.ix, update)
		if e != nil {
			writeError(w, http.StatusBadRequest, *e)
			return
		}
		merged[i] = m
	}
	for i, t := range targets {
		t.ix.mappings = merged[i]
	}
	writeJSON(w, http.StatusOK, map[string]any{"acknowledged": true})
}

// checkMappingRoot refuses a root key no mapping takes, as the root
// object mapper's parser does.
func checkMappingRoot(update map[string]any) *esError {
	var bad []string
	for k, v := range update {
		if !mappingRootParams[k] {
			bad = append(bad, k+" : "+preview(v))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return &esError{Type: "mapper_parsing_exception", Reason: "Root mapping definition has unsupported parameters:  [" + strings.Join(bad, "] [") + "]"}
}

// mergedMappings is the mappings of ix with update merged in, or the
// error refusing the update; ix is left as it is.
func mergedMappings(ix *index, update map[string]any) (map[string]any, *esError) {
	merged := deepCopy(ix.mappings).(map[string]any)
	for k, v := range deepCopy(update).(map[string]any) {
		switch k {
		case "properties":
			dst, ok := merged["properties"].(map[string]any)
			if !ok {
				dst = map[string]any{}
				merged["properties"] = dst
			}
			src, _ := v.(map[string]any)
			if e := mergeUpdate(dst, src, ""); e != nil {
				return nil, e
			}
		case "runtime":
			dst, ok := merged["runtime"].(map[string]any)
			if !ok {
				dst = map[string]any{}
				merged["runtime"] = dst
			}
			src, _ := v.(map[string]any)
			for name, def := range src {
				dst[name] = def
			}
		default:
			merged[k] = v
		}
	}
	if e := checkFieldLimit(merged, ix.settings); e != nil {
		return nil, e
	}
	return merged, nil
}

// mergeUpdate merges the properties (or multi-fields) src into dst, both
// at path prefix.
func mergeUpdate(dst, src map[string]any, prefix string) *esError {
	names := make([]string, 0, len(src))
	for n := range src {
		names = append(names, n)
	}
	sort.Strings(names) // the first conflict, the same every time
	for _, name := range names {
		upd, _ := src[name].(map[string]any)
		old, ok := dst[name].(map[string]any)
		if !ok || upd == nil {
			dst[name] = src[name]
			continue
		}
		if e := mergeField(prefix+name, old, upd); e != nil {
			return e
		}
	}
	return nil
}

// mergeField merges the update upd of the field at path into its mapping
// old.
func mergeField(path string, old, upd map[string]any) *esError {
	conflict := func(format string, a ...any) *esError {
		return &esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf(format, a...)}
	}
	oldType, updType := typeOf(old), typeOf(upd)
	oldObject, updObject := isObjectDef(old), isObjectDef(upd)
	switch {
	case oldObject && !updObject:
		return conflict("can't merge a non object mapping [%s] with an object mapping", path)
	case !oldObject && updObject:
		return conflict("mapper [%s] cannot be changed from type [%s] to [%s]", path, oldType, updType)
	case oldObject && (oldType == "nested") != (updType == "nested"):
		return conflict("can't merge a non-nested mapping [%s] with a nested mapping", path)
	case oldObject:
		return mergeObject(path, old, upd)
	case oldType != updType:
		return conflict("mapper [%s] cannot be changed from type [%s] to [%s]", path, oldType, updType)
	}
	var conflicts []string
	for _, p := range paramNames(old, upd) {
		ov, had := old[p]
		uv, has := upd[p]
		if had && has && sameParam(ov, uv) {
			continue
		}
		if updateableParams[p] {
			if has {
				old[p] = uv
			} else {
				delete(old, p) // back to its default
			}
			continue
		}
		// Elasticsearch names the default of a parameter left out; null
		// stands for it here.
		conflicts = append(conflicts, fmt.Sprintf("Cannot update parameter [%s] from [%s] to [%s]", p, paramString(ov, had), paramString(uv, has)))
	}
	if len(conflicts) > 0 {
		return conflict("Mapper for [%s] conflicts with existing mapper:\n\t%s", path, strings.Join(conflicts, "\n\t"))
	}
	if multi, ok := upd["fields"].(map[string]any); ok {
		dst, ok := old["fields"].(map[string]any)
		if !ok {
			dst = map[string]any{}
			old["fields"] = dst
		}
		return mergeUpdate(dst, multi, path+".")
	}
	return nil
}

// mergeObject merges the update of an object field: its properties field
// by field, its dynamic replaced; enabled and subobjects never change.
func mergeObject(path string, old, upd map[string]any) *esError {
	for _, p := range []string{"enabled", "subobjects"} {
		if uv, has := upd[p]; has && !sameParam(uv, paramOr(old, p, true)) {
			return &esError{Type: "illegal_argument_exception",
				Reason: "the [" + p + "] parameter can't be updated for the object mapping [" + path + "]"}
		}
	}
	if d, ok := upd["dynamic"]; ok {
		old["dynamic"] = d
	}
	if src, ok := upd["properties"].(map[string]any); ok {
		dst, ok := old["properties"].(map[string]any)
		if !ok {
			dst = map[string]any{}
			old["properties"] = dst
		}
		return mergeUpdate(dst, src, path+".")
	}
	return nil
}

// typeOf is a field's type as Elasticsearch names it: object when none is
// given.
func typeOf(def map[string]any) string {
	if t, _ := def["type"].(string); t != "" {
		return t
	}
	return "object"
}

// paramNames are the parameters of either mapping but type and
// multi-fields, sorted.
func paramNames(a, b map[string]any) []string {
	seen := map[string]bool{"type": true, "fields": true}
	var out []string
	for _, m := range []map[string]any{a, b} {
		for p := range m {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	sort.Strings(out)
	return out
}

// sameParam compares two parameter values as Elasticsearch parses them:
// numbers by value (100 is 100.0), booleans and their strings alike.
func sameParam(a, b any) bool {
	if x, ok := numberOf(a); ok {
		if y, ok := numberOf(b); ok {
			_, aBool := a.(bool)
			_, bBool := b.(bool)
			return x == y && aBool == bBool
		}
	}
	return scalarString(a) == scalarString(b)
}

func paramOr(def map[string]any, p string, dflt any) any {
	if v, ok := def[p]; ok {
		return v
	}
	return dflt
}

func paramString(v any, set bool) string {
	if !set {
		return "null"
	}
	return scalarString(v)
}

func (s *Server) handleGetMapping(w http.ResponseWriter, target string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	targets, missing, ok := s.resolve(target)
	if !ok {
		writeError(w, http.StatusNotFound, indexNotFound(missing))
		return
	}
	out := map[string]any{}
	for _, t := range targets {
		out[t.ix.name] = map[string]any{"mappings": deepCopy(t.ix.mappings)}
	}
	writeJSON(w, http.StatusOK, out)
}
