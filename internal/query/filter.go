package query

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/projectorhq/projector/internal/fieldvalue"
)

// Request parameters that are not filters. A field with one of these names
// is filtered with the explicit operator: ?limit[eq]=3.
var reserved = map[string]bool{
	"sort": true, "limit": true, "cursor": true, "min_position": true, "wait": true,
	"q": true, "facets": true, "facet_size": true, "offset": true,
}

// Filter operators: field=value is eq; field[op]=value the others; in takes
// a comma-separated list.
var operators = map[string]bool{"eq": true, "gt": true, "gte": true, "lt": true, "lte": true, "in": true}

const (
	maxFilters   = 32   // conditions in one request
	maxInValues  = 1000 // values of one [in]
	defaultLimit = 50
	maxLimit     = 1000
)

// filter is one condition of a request: a declared scalar field (top-level
// or inside embedded objects), an operator and canonical values.
type filter struct {
	Param  string   // the parameter as given, for errors
	Path   []string // "customer", "id"
	Field  *field   // the field at the end of Path
	Op     string
	Values []string // one, or several for in
	// Raw are the values as the client wrote them (trimmed), for a store
	// that compares a numeric's digits as text.
	Raw []string
}

// parseFilters reads every non-reserved parameter as a filter. Repeated
// parameters are all applied (ANDed).
func parseFilters(v *view, params url.Values) ([]filter, error) {
	keys := make([]string, 0, len(params))
	for k := range params {
		if !reserved[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys) // a deterministic SQL text and query hash
	var out []filter
	for _, k := range keys {
		name, op := k, "eq"
		if open := strings.IndexByte(k, '['); open >= 0 || strings.ContainsRune(k, ']') {
			if open < 0 || !strings.HasSuffix(k, "]") || open == 0 {
				return nil, badRequest("bad_parameter", echo(k), "parameter %q is neither a field nor field[operator]", echo(k))
			}
			name, op = k[:open], k[open+1:len(k)-1]
			if !operators[op] {
				return nil, badRequest("bad_operator", echo(k), "unknown operator %q in %q; use eq, gt, gte, lt, lte or in", echo(op), echo(k))
			}
		}
		f := v.resolve(name)
		if f == nil {
			return nil, badRequest("unknown_field", echo(k), "view %s has no field %q", v.Name, echo(name))
		}
		if !f.scalar() {
			return nil, badRequest("bad_field", echo(k), "field %q (%s) cannot be filtered: only scalar fields can", echo(name), typeName(f))
		}
		for _, raw := range params[k] {
			items := []string{raw}
			if op == "in" {
				items = strings.Split(raw, ",")
				if len(items) > maxInValues {
					return nil, badRequest("bad_value", echo(k), "%s: at most %d values", echo(k), maxInValues)
				}
			}
			fl := filter{Param: k, Path: strings.Split(name, "."), Field: f, Op: op}
			for _, item := range items {
				val, err := fieldvalue.Parse(f.Type, item)
				if err != nil {
					return nil, badRequest("bad_value", echo(k), "%s: %q: %v", echo(k), echo(item), err)
				}
				fl.Values = append(fl.Values, val)
				fl.Raw = append(fl.Raw, strings.TrimSpace(item))
			}
			out = append(out, toMicroseconds(fl))
			if len(out) > maxFilters {
				return nil, badRequest("too_many_filters", "", "at most %d filter conditions", maxFilters)
			}
		}
	}
	return out, nil
}

// toMicroseconds bounds a timestamp or time filter by what the stores
// hold: microseconds. PostgreSQL rounds a finer value when it casts it,
// as the canonical text of a time does, so at[gte]=…00.0000005Z would
// take a row at …00.000000: a finer bound is taken up (gt, gte) or down
// (lt, lte) to the microseconds it lies between, and a finer value equals
// no timestamp or time at all.
func toMicroseconds(fl filter) filter {
	out := fl
	out.Values, out.Raw = nil, nil
	for i, v := range fl.Values {
		floor, ceil, finer := fieldvalue.MicrosecondsAround(fl.Field.Type, v, fl.Raw[i])
		if !finer {
			out.Values, out.Raw = append(out.Values, v), append(out.Raw, fl.Raw[i])
			continue
		}
		var bound string
		switch fl.Op {
		case "eq", "in":
			out.Op = "in" // equals no value a store holds
			continue
		case "gt", "gte":
			out.Op, bound = "gte", ceil
		case "lt", "lte":
			out.Op, bound = "lte", floor
		}
		out.Values, out.Raw = append(out.Values, bound), append(out.Raw, bound)
	}
	return out
}

func typeName(f *field) string {
	switch {
	case f.Object != nil:
		return "object"
	case f.Array:
		return "array"
	}
	return f.Type.String()
}

// sortSpec is the order of a list: one top-level scalar field, then the id
// fields as tiebreaker, all in the same direction.
type sortSpec struct {
	Field *field // nil: by id only
	Desc  bool
}

func parseSort(v *view, params url.Values) (sortSpec, error) {
	vals := params["sort"]
	if len(vals) == 0 || (len(vals) == 1 && vals[0] == "") {
		return sortSpec{}, nil
	}
	if len(vals) > 1 || strings.Contains(vals[0], ",") {
		return sortSpec{}, badRequest("bad_sort", "sort", "sort takes one field (the id breaks ties)")
	}
	name, desc := strings.CutPrefix(vals[0], "-")
	f := v.field(name)
	if f == nil {
		return sortSpec{}, badRequest("unknown_field", "sort", "view %s has no field %q to sort by", v.Name, echo(name))
	}
	if !f.scalar() {
		return sortSpec{}, badRequest("bad_sort", "sort", "field %q (%s) cannot be sorted by: only top-level scalar fields can", echo(name), typeName(f))
	}
	if len(v.ID) == 1 && v.ID[0] == f {
		f = nil // sorting by the id is the tiebreaker alone
	}
	return sortSpec{Field: f, Desc: desc}, nil
}

// parseInt reads a bounded integer parameter.
func parseInt(params url.Values, name string, def, lo, hi int) (int, error) {
	vals := params[name]
	if len(vals) == 0 {
		return def, nil
	}
	if len(vals) > 1 {
		return 0, badRequest("bad_"+name, name, "%s is given %d times: give it once", name, len(vals))
	}
	n, err := strconv.Atoi(vals[0])
	if err != nil || n < lo || n > hi {
		return 0, badRequest("bad_"+name, name, "%s must be a whole number from %d to %d", name, lo, hi)
	}
	return n, nil
}

// queryHash identifies a view, sort and filter set, so a cursor is only
// accepted by the query that issued it.
func queryHash(v *view, s sortSpec, filters []filter) string {
	h := sha256.New()
	h.Write([]byte(v.Name))
	h.Write([]byte{0})
	if s.Field != nil {
		h.Write([]byte(s.Field.Name))
	}
	h.Write([]byte{0, boolByte(s.Desc), 0})
	for _, f := range filters {
		h.Write([]byte(f.Param))
		h.Write([]byte{0})
		for _, val := range f.Values {
			h.Write([]byte(strconv.Itoa(len(val))))
			h.Write([]byte{':'})
			h.Write([]byte(val))
		}
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}
