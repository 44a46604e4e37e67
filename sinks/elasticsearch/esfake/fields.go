package esfake

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// field is a query or sort field resolved against an index's mappings.
type field struct {
	name        string
	typ         string // mapping type; "" when unmapped
	path        []string
	ignoreAbove int
	scale       float64 // scaled_float scaling_factor
}

// lookupField resolves "a.b" through object properties and multi-fields
// ("title.keyword" is the keyword sub-field of text field "title").
func lookupField(mappings map[string]any, name string) field {
	f := field{name: name}
	if name == "_id" {
		f.typ = "_id"
		return f
	}
	segs := strings.Split(name, ".")
	props, _ := mappings["properties"].(map[string]any)
	var def map[string]any
	for i, seg := range segs {
		next, ok := props[seg].(map[string]any)
		if !ok {
			if def != nil {
				if subs, ok := def["fields"].(map[string]any); ok && i == len(segs)-1 {
					if sub, ok := subs[seg].(map[string]any); ok {
						f.typ, _ = sub["type"].(string)
						f.path = segs[:i]
						f.ignoreAbove = intOf(sub["ignore_above"])
						return f
					}
				}
			}
			return field{name: name}
		}
		def = next
		if def["enabled"] == false {
			return field{name: name} // not indexed: searches see nothing
		}
		props, _ = def["properties"].(map[string]any)
	}
	f.typ, _ = def["type"].(string)
	if f.typ == "" {
		f.typ = "object"
	}
	f.path = segs
	f.ignoreAbove = intOf(def["ignore_above"])
	if sf, ok := def["scaling_factor"]; ok {
		f.scale, _ = numberOf(sf)
	}
	return f
}

func intOf(v any) int {
	n, ok := numberOf(v)
	if !ok {
		return 0
	}
	return int(n)
}

// values returns the field's indexed values in a document: arrays are
// flattened, nulls skipped, values over ignore_above dropped.
func (f field) values(id string, src map[string]any) []any {
	if f.typ == "_id" {
		return []any{id}
	}
	if f.typ == "" {
		return nil
	}
	var out []any
	var walk func(v any, rest []string)
	walk = func(v any, rest []string) {
		switch t := v.(type) {
		case nil:
			return
		case []any:
			for _, e := range t {
				walk(e, rest)
			}
			return
		case map[string]any:
			if len(rest) == 0 {
				out = append(out, t)
				return
			}
			walk(t[rest[0]], rest[1:])
			return
		}
		if len(rest) == 0 {
			if s, ok := v.(string); ok && f.ignoreAbove > 0 && len([]rune(s)) > f.ignoreAbove {
				return
			}
			out = append(out, v)
		}
	}
	walk(src, f.path)
	return out
}

// key normalizes a value to what the field type indexes, for equality,
// ordering and aggregation keys: float64 for numbers, int64 epoch millis for
// dates, bool for booleans, string for keywords.
func (f field) key(v any) (any, bool) {
	switch f.typ {
	case "long", "integer", "short", "byte", "unsigned_long":
		n, ok := numberOf(v)
		return math.Trunc(n), ok
	case "double", "float", "half_float":
		return numberOf(v)
	case "scaled_float":
		n, ok := numberOf(v)
		if ok && f.scale > 0 {
			n = math.Round(n*f.scale) / f.scale
		}
		return n, ok
	case "date", "date_nanos":
		return dateMillis(v)
	case "boolean":
		switch t := v.(type) {
		case bool:
			return t, true
		case string:
			b, err := strconv.ParseBool(t)
			return b, err == nil
		}
		return false, false
	case "text", "object", "nested", "":
		return nil, false
	}
	return scalarString(v), true
}

// analyze is the simplified standard analyzer: lowercased runs of letters
// and digits.
func analyze(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// compareKeys orders two normalized keys of the same field type.
func compareKeys(a, b any) int {
	switch x := a.(type) {
	case float64:
		y, _ := b.(float64)
		return cmp3(x < y, x > y)
	case int64:
		y, _ := b.(int64)
		return cmp3(x < y, x > y)
	case bool:
		y, _ := b.(bool)
		return cmp3(!x && y, x && !y)
	case string:
		y, _ := b.(string)
		return strings.Compare(x, y)
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

func cmp3(less, more bool) int {
	switch {
	case less:
		return -1
	case more:
		return 1
	}
	return 0
}

// keyJSON renders an aggregation or sort key as Elasticsearch does: whole
// numbers for integer and date fields, 1/0 for booleans.
func (f field) keyJSON(k any) any {
	switch t := k.(type) {
	case float64:
		switch f.typ {
		case "long", "integer", "short", "byte", "unsigned_long":
			return int64(t)
		}
		return t
	case bool:
		if t {
			return int64(1)
		}
		return int64(0)
	}
	return k
}
