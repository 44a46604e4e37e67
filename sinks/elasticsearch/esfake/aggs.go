package esfake

import (
	"sort"
	"time"
)

// runAggs computes "aggs"/"aggregations" over every matching hit (not only
// the returned page): terms (with sub-aggregations), min, max, avg, sum,
// value_count and cardinality.
func runAggs(req map[string]any, hits []*hit) (map[string]any, *esError) {
	spec, ok := req["aggs"].(map[string]any)
	if !ok {
		spec, ok = req["aggregations"].(map[string]any)
	}
	if !ok {
		return nil, nil
	}
	return aggregate(spec, hits)
}

func aggregate(spec map[string]any, hits []*hit) (map[string]any, *esError) {
	out := map[string]any{}
	for name, raw := range spec {
		def, _ := raw.(map[string]any)
		sub, _ := def["aggs"].(map[string]any)
		if sub == nil {
			sub, _ = def["aggregations"].(map[string]any)
		}
		for kind, body := range def {
			if kind == "aggs" || kind == "aggregations" || kind == "meta" {
				continue
			}
			opts, _ := body.(map[string]any)
			fieldName, _ := opts["field"].(string)
			var res map[string]any
			var err *esError
			switch kind {
			case "terms":
				res, err = termsAgg(fieldName, opts, sub, hits)
			case "min", "max", "avg", "sum", "value_count", "cardinality":
				res, err = metricAgg(kind, fieldName, hits)
			default:
				return nil, &esError{Type: "parsing_exception", Reason: "Unknown aggregation type [" + kind + "] did you mean [terms]?"}
			}
			if err != nil {
				return nil, err
			}
			out[name] = res
		}
	}
	return out, nil
}

// fieldFor resolves the field against each hit's own index mappings.
func fieldFor(name string, h *hit, cache map[*index]field) field {
	f, ok := cache[h.ix]
	if !ok {
		f = lookupField(h.ix.mappings, name)
		cache[h.ix] = f
	}
	return f
}

func fielddataDisabled(name string) *esError {
	return &esError{Type: "illegal_argument_exception", Reason: "Fielddata is disabled on [" + name +
		"]. Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead."}
}

type bucket struct {
	key  any
	f    field
	hits []*hit
}

func termsAgg(name string, opts, sub map[string]any, hits []*hit) (map[string]any, *esError) {
	size := 10
	if v, ok := opts["size"]; ok {
		size = intOf(v)
	}
	minCount := 1
	if v, ok := opts["min_doc_count"]; ok {
		minCount = intOf(v)
	}
	cache := map[*index]field{}
	buckets := map[any]*bucket{}
	for _, h := range hits {
		f := fieldFor(name, h, cache)
		if f.typ == "text" {
			return nil, fielddataDisabled(name)
		}
		seen := map[any]bool{}
		for _, v := range f.values(h.id, h.d.fields) {
			k, ok := f.key(v)
			if !ok || seen[k] {
				continue
			}
			seen[k] = true
			b := buckets[k]
			if b == nil {
				b = &bucket{key: k, f: f}
				buckets[k] = b
			}
			b.hits = append(b.hits, h)
		}
	}
	list := make([]*bucket, 0, len(buckets))
	for _, b := range buckets {
		if len(b.hits) >= minCount {
			list = append(list, b)
		}
	}
	byKey, asc := false, false
	if o, ok := opts["order"].(map[string]any); ok {
		for k, v := range o {
			byKey = k == "_key" || k == "_term"
			asc = v == "asc"
		}
	}
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if !byKey && len(a.hits) != len(b.hits) {
			if asc {
				return len(a.hits) < len(b.hits)
			}
			return len(a.hits) > len(b.hits)
		}
		c := compareKeys(a.key, b.key)
		if byKey && !asc {
			return c > 0
		}
		return c < 0
	})
	other := 0
	if len(list) > size {
		for _, b := range list[size:] {
			other += len(b.hits)
		}
		list = list[:size]
	}
	out := make([]any, 0, len(list))
	for _, b := range list {
		entry := map[string]any{"key": b.f.keyJSON(b.key), "doc_count": len(b.hits)}
		switch b.f.typ {
		case "boolean":
			if b.key.(bool) {
				entry["key_as_string"] = "true"
			} else {
				entry["key_as_string"] = "false"
			}
		case "date", "date_nanos":
			entry["key_as_string"] = time.UnixMilli(b.key.(int64)).UTC().Format("2006-01-02T15:04:05.000Z")
		}
		if sub != nil {
			subRes, err := aggregate(sub, b.hits)
			if err != nil {
				return nil, err
			}
			for k, v := range subRes {
				entry[k] = v
			}
		}
		out = append(out, entry)
	}
	return map[string]any{"doc_count_error_upper_bound": 0, "sum_other_doc_count": other, "buckets": out}, nil
}

func metricAgg(kind, name string, hits []*hit) (map[string]any, *esError) {
	cache := map[*index]field{}
	var nums []float64
	distinct := map[any]bool{}
	count := 0
	isDate := false
	for _, h := range hits {
		f := fieldFor(name, h, cache)
		if f.typ == "text" {
			return nil, fielddataDisabled(name)
		}
		isDate = f.typ == "date" || f.typ == "date_nanos"
		for _, v := range f.values(h.id, h.d.fields) {
			k, ok := f.key(v)
			if !ok {
				continue
			}
			count++
			distinct[k] = true
			if n, ok := f.keyFloat(k); ok {
				nums = append(nums, n)
			}
		}
	}
	switch kind {
	case "value_count":
		return map[string]any{"value": count}, nil
	case "cardinality":
		return map[string]any{"value": len(distinct)}, nil
	case "sum":
		sum := 0.0
		for _, n := range nums {
			sum += n
		}
		return map[string]any{"value": sum}, nil
	}
	if len(nums) == 0 {
		return map[string]any{"value": nil}, nil
	}
	v := nums[0]
	sum := 0.0
	for _, n := range nums {
		sum += n
		if kind == "min" && n < v || kind == "max" && n > v {
			v = n
		}
	}
	if kind == "avg" {
		v = sum / float64(len(nums))
	}
	res := map[string]any{"value": v}
	if isDate && kind != "avg" {
		res["value_as_string"] = time.UnixMilli(int64(v)).UTC().Format("2006-01-02T15:04:05.000Z")
	}
	return res, nil
}
