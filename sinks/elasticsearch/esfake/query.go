package esfake

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// matcher tells whether a document matches and with which score.
type matcher func(id string, src map[string]any) (bool, float64)

func queryError(reason string) *esError {
	return &esError{Type: "parsing_exception", Reason: reason}
}

// compileQuery builds a matcher for one index from the query DSL subset.
func compileQuery(mappings map[string]any, q map[string]any) (matcher, *esError) {
	if len(q) == 0 {
		return func(string, map[string]any) (bool, float64) { return true, 1 }, nil
	}
	if len(q) != 1 {
		return nil, queryError("[_na] query malformed, no start_object after query name")
	}
	for kind, raw := range q {
		body, _ := raw.(map[string]any)
		switch kind {
		case "match_all":
			return func(string, map[string]any) (bool, float64) { return true, 1 }, nil
		case "match_none":
			return func(string, map[string]any) (bool, float64) { return false, 0 }, nil
		case "bool":
			return compileBool(mappings, body)
		case "constant_score":
			inner, _ := body["filter"].(map[string]any)
			m, err := compileQuery(mappings, inner)
			if err != nil {
				return nil, err
			}
			return func(id string, src map[string]any) (bool, float64) {
				ok, _ := m(id, src)
				return ok, 1
			}, nil
		case "ids":
			want := map[string]bool{}
			for _, v := range stringList(body["values"]) {
				want[v] = true
			}
			return func(id string, _ map[string]any) (bool, float64) { return want[id], 1 }, nil
		case "exists":
			name, _ := body["field"].(string)
			f := lookupField(mappings, name)
			return func(id string, src map[string]any) (bool, float64) { return len(f.values(id, src)) > 0, 1 }, nil
		case "multi_match":
			return compileMultiMatch(mappings, body)
		}
		// The remaining queries take {"<field>": value-or-options}.
		if len(body) != 1 {
			return nil, queryError("[" + kind + "] query doesn't support multiple fields")
		}
		for name, opts := range body {
			f := lookupField(mappings, name)
			switch kind {
			case "term":
				v := opts
				if m, ok := opts.(map[string]any); ok {
					v = m["value"]
				}
				return termMatcher(f, []any{v}), nil
			case "terms":
				arr, ok := opts.([]any)
				if !ok {
					return nil, queryError("[terms] query does not support [" + name + "]")
				}
				return termMatcher(f, arr), nil
			case "prefix":
				v := opts
				if m, ok := opts.(map[string]any); ok {
					v = m["value"]
				}
				return prefixMatcher(f, scalarString(v)), nil
			case "range":
				m, _ := opts.(map[string]any)
				return rangeMatcher(f, m), nil
			case "match", "match_phrase":
				text, op := opts, "or"
				if m, ok := opts.(map[string]any); ok {
					text = m["query"]
					if o, ok := m["operator"].(string); ok {
						op = strings.ToLower(o)
					}
				}
				if kind == "match_phrase" {
					op = "and"
				}
				return matchMatcher(f, scalarString(text), op, 1), nil
			}
		}
		return nil, queryError("unknown query [" + kind + "]")
	}
	return nil, queryError("query malformed")
}

func compileBool(mappings map[string]any, body map[string]any) (matcher, *esError) {
	compileAll := func(key string) ([]matcher, *esError) {
		var qs []map[string]any
		switch t := body[key].(type) {
		case map[string]any:
			qs = append(qs, t)
		case []any:
			for _, e := range t {
				if m, ok := e.(map[string]any); ok {
					qs = append(qs, m)
				}
			}
		}
		out := make([]matcher, 0, len(qs))
		for _, q := range qs {
			m, err := compileQuery(mappings, q)
			if err != nil {
				return nil, err
			}
			out = append(out, m)
		}
		return out, nil
	}
	must, err := compileAll("must")
	if err != nil {
		return nil, err
	}
	filter, err := compileAll("filter")
	if err != nil {
		return nil, err
	}
	should, err := compileAll("should")
	if err != nil {
		return nil, err
	}
	mustNot, err := compileAll("must_not")
	if err != nil {
		return nil, err
	}
	minShould := 0
	if len(must) == 0 && len(filter) == 0 && len(should) > 0 {
		minShould = 1
	}
	if v, ok := body["minimum_should_match"]; ok {
		minShould = intOf(v)
	}
	return func(id string, src map[string]any) (bool, float64) {
		score := 0.0
		for _, m := range must {
			ok, s := m(id, src)
			if !ok {
				return false, 0
			}
			score += s
		}
		for _, m := range filter {
			if ok, _ := m(id, src); !ok {
				return false, 0
			}
		}
		for _, m := range mustNot {
			if ok, _ := m(id, src); ok {
				return false, 0
			}
		}
		hits := 0
		for _, m := range should {
			if ok, s := m(id, src); ok {
				hits++
				score += s
			}
		}
		if hits < minShould {
			return false, 0
		}
		return true, score
	}, nil
}

func termMatcher(f field, want []any) matcher {
	if f.typ == "text" {
		// A term query on a text field matches one analyzed token exactly.
		tokens := map[string]bool{}
		for _, w := range want {
			tokens[scalarString(w)] = true
		}
		return func(id string, src map[string]any) (bool, float64) {
			for _, v := range f.values(id, src) {
				for _, t := range analyze(scalarString(v)) {
					if tokens[t] {
						return true, 1
					}
				}
			}
			return false, 0
		}
	}
	if f.typ == "date" || f.typ == "date_nanos" {
		return dateTermMatcher(f, want)
	}
	keys := map[any]bool{}
	var prefixes []netip.Prefix
	for _, w := range want {
		if f.typ == "ip" {
			// A term on an ip field may be a CIDR block (IpFieldMapper.termQuery).
			if p, err := netip.ParsePrefix(scalarString(w)); err == nil {
				prefixes = append(prefixes, p.Masked())
				continue
			}
		}
		if k, ok := f.termKey(w); ok {
			keys[k] = true
		}
	}
	return func(id string, src map[string]any) (bool, float64) {
		for _, v := range f.values(id, src) {
			if k, ok := f.key(v); ok && keys[k] {
				return true, 1
			}
			if len(prefixes) == 0 {
				continue
			}
			if a, err := netip.ParseAddr(scalarString(v)); err == nil {
				for _, p := range prefixes {
					if p.Contains(a.Unmap()) || p.Contains(a) {
						return true, 1
					}
				}
			}
		}
		return false, 0
	}
}

// dateTermMatcher: a term on a date field is the range from the value
// rounded down to the value rounded up (DateFieldType.termQuery), so
// "2026-03-01T10:00:00Z" matches the whole second and "2026-03-02" the
// day.
func dateTermMatcher(f field, want []any) matcher {
	type span struct{ from, to int64 }
	var spans []span
	for _, w := range want {
		if ms, ok := dateMillis(w); ok {
			spans = append(spans, span{ms, roundUpDate(w, ms)})
		}
	}
	return func(id string, src map[string]any) (bool, float64) {
		for _, v := range f.values(id, src) {
			ms, ok := dateMillis(v)
			if !ok {
				continue
			}
			for _, s := range spans {
				if ms >= s.from && ms <= s.to {
					return true, 1
				}
			}
		}
		return false, 0
	}
}

func prefixMatcher(f field, prefix string) matcher {
	return func(id string, src map[string]any) (bool, float64) {
		for _, v := range f.values(id, src) {
			cands := []string{scalarString(v)}
			if f.typ == "text" {
				cands = analyze(cands[0])
			}
			for _, c := range cands {
				if strings.HasPrefix(c, prefix) {
					return true, 1
				}
			}
		}
		return false, 0
	}
}

func rangeMatcher(f field, opts map[string]any) matcher {
	type bound struct {
		key       any
		inclusive bool
		lower     bool
	}
	var bounds []bound
	for op, v := range opts {
		var lower, inclusive bool
		switch op {
		case "gt", "from":
			lower, inclusive = true, op == "from"
		case "gte":
			lower, inclusive = true, true
		case "lt", "to":
			inclusive = op == "to"
		case "lte":
			inclusive = true
		default:
			continue
		}
		k, incl, ok := f.rangeBound(v, lower, inclusive)
		if !ok {
			continue
		}
		bounds = append(bounds, bound{k, incl, lower})
	}
	return func(id string, src map[string]any) (bool, float64) {
		for _, v := range f.values(id, src) {
			k, ok := f.key(v)
			if f.typ == "text" {
				k, ok = scalarString(v), true
			}
			if !ok {
				continue
			}
			in := true
			for _, b := range bounds {
				c := compareKeys(k, b.key)
				switch {
				case b.lower && (c < 0 || c == 0 && !b.inclusive):
					in = false
				case !b.lower && (c > 0 || c == 0 && !b.inclusive):
					in = false
				}
			}
			if in {
				return true, 1
			}
		}
		return false, 0
	}
}

// matchMatcher is a match query: analyzed tokens against a text field
// (operator or/and, score = summed term frequency), equality elsewhere.
func matchMatcher(f field, text, op string, boost float64) matcher {
	if f.typ != "text" {
		m := termMatcher(f, []any{text})
		return func(id string, src map[string]any) (bool, float64) {
			ok, s := m(id, src)
			return ok, s * boost
		}
	}
	want := analyze(text)
	return func(id string, src map[string]any) (bool, float64) {
		if len(want) == 0 {
			return false, 0
		}
		tf := map[string]int{}
		for _, v := range f.values(id, src) {
			for _, t := range analyze(scalarString(v)) {
				tf[t]++
			}
		}
		hits, score := 0, 0.0
		for _, w := range want {
			if n := tf[w]; n > 0 {
				hits++
				score += float64(n)
			}
		}
		if hits == 0 || op == "and" && hits < len(want) {
			return false, 0
		}
		return true, score * boost
	}
}

func compileMultiMatch(mappings map[string]any, body map[string]any) (matcher, *esError) {
	text := scalarString(body["query"])
	op := "or"
	if o, ok := body["operator"].(string); ok {
		op = strings.ToLower(o)
	}
	names := stringList(body["fields"])
	if len(names) == 0 {
		names = textFields(mappings, "", mappings)
	}
	var ms []matcher
	for _, n := range names {
		boost := 1.0
		if i := strings.IndexByte(n, '^'); i >= 0 {
			if b, err := strconv.ParseFloat(n[i+1:], 64); err == nil {
				boost = b
			}
			n = n[:i]
		}
		ms = append(ms, matchMatcher(lookupField(mappings, n), text, op, boost))
	}
	// best_fields: the best field's score.
	return func(id string, src map[string]any) (bool, float64) {
		found, best := false, 0.0
		for _, m := range ms {
			if ok, s := m(id, src); ok {
				found = true
				best = math.Max(best, s)
			}
		}
		return found, best
	}, nil
}

// textFields lists every text field, the default fields of a multi_match
// without "fields" (index.query.default_field is "*").
func textFields(def map[string]any, prefix string, _ map[string]any) []string {
	var out []string
	props, _ := def["properties"].(map[string]any)
	for name, raw := range props {
		sub, _ := raw.(map[string]any)
		full := name
		if prefix != "" {
			full = prefix + "." + name
		}
		if t, _ := sub["type"].(string); t == "text" {
			out = append(out, full)
		}
		out = append(out, textFields(sub, full, nil)...)
	}
	return out
}
