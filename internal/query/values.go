package query

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/shopspring/decimal"

	"github.com/projectorhq/projector/sinks/elasticsearch"
)

// beyondScale reports whether the canonical value of a numeric(p,s) field
// has more decimals than s (numeric(p) has scale 0): the field holds every
// value rounded to its scale, so no value it holds equals this one.
// 12.500 is within numeric(10,2); 12.504 is not.
func beyondScale(f *field, canonical string) bool {
	if f.Type.Name != "numeric" || f.Type.Precision < 0 {
		return false
	}
	d, err := decimal.NewFromString(canonical)
	if err != nil {
		return false
	}
	return !d.Equal(d.Truncate(int32(max(f.Type.Scale, 0))))
}

// esValue is a request value as Elasticsearch compares it on a target of
// that mapping type: numbers as JSON numbers, booleans as booleans,
// everything else as text. A keyword holding a numeric's digits (an
// override without the number sub-field) is compared with the digits as
// the client wrote them, the only spelling that can match text.
func esValue(t esTarget, canonical, raw string) any {
	switch {
	case isNumeric(t.Type):
		return json.Number(canonical)
	case t.Type == "boolean":
		return canonical == "true"
	case t.Digits:
		return raw
	case (t.Type == "date" || t.Type == "date_nanos") && strings.Contains(canonical, "T"):
		// With every digit of its fraction: Elasticsearch reads the
		// components a gt or lte bound (or a term) leaves out as their
		// maximum, so a whole second would stand for all of it. A date
		// alone stands for its day, which is what it means.
		if ts, err := time.Parse(time.RFC3339Nano, canonical); err == nil {
			return ts.UTC().Format("2006-01-02T15:04:05.000000000Z")
		}
	}
	return canonical
}

func esType(mapping map[string]any) string {
	t, _ := mapping["type"].(string)
	return t
}

// esTarget is the indexed field a search compares one of the view's
// fields on.
type esTarget struct {
	Name string // "status", "title.keyword", "total.number"
	Type string // its mapping type; "" when dynamically mapped
	// Digits: a numeric field indexed only as keyword text, whose order is
	// not the numbers' order.
	Digits bool
	// MaxChars is a keyword's ignore_above (0: none): a longer value is
	// kept in _source but not indexed, so nothing there equals it.
	MaxChars int
}

// esTerms is where a field's exact values are indexed, for term filters
// and facets: the field itself, or the keyword sub-field of analyzed text.
// ok is false when the mapping indexes no exact value (text without a
// keyword sub-field, "index": false, a disabled object).
func esTerms(f *field) (t esTarget, ok bool) {
	if f.ES["index"] == false || f.ES["enabled"] == false {
		return esTarget{}, false
	}
	typ := esType(f.ES)
	if typ != "text" {
		return esTarget{Name: f.Name, Type: typ, Digits: typ == "keyword" && f.Type.Name == "numeric", MaxChars: ignoreAbove(f.ES)}, true
	}
	subs, _ := f.ES["fields"].(map[string]any)
	names := make([]string, 0, len(subs))
	for name := range subs {
		names = append(names, name)
	}
	slices.Sort(names)
	// "keyword" is what the generated mapping names it; an override may
	// call its keyword sub-field anything.
	if i := slices.Index(names, "keyword"); i > 0 {
		names[0], names[i] = names[i], names[0]
	}
	for _, name := range names {
		sub, _ := subs[name].(map[string]any)
		if esType(sub) == "keyword" && sub["index"] != false {
			return esTarget{Name: f.Name + "." + name, Type: "keyword", MaxChars: ignoreAbove(sub)}, true
		}
	}
	return esTarget{}, false
}

// ignoreAbove reads a keyword mapping's ignore_above: an int from the
// generated mapping or YAML, a float64 or json.Number from JSON; 0 when
// unset.
func ignoreAbove(mapping map[string]any) int {
	switch x := mapping["ignore_above"].(type) {
	case int:
		return x
	case int64:
		return int(x)
	case uint64:
		return int(min(x, math.MaxInt32))
	case float64:
		return int(x)
	case json.Number:
		n, _ := x.Int64()
		return int(n)
	}
	return 0
}

// javaLen is a string's length as Elasticsearch compares it with
// ignore_above: in UTF-16 code units, so a character outside the BMP (an
// emoji) counts two.
func javaLen(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// esOrdered is where a field's values compare in their own order, for
// equality, ranges and sorting: a numeric kept as keyword digits compares
// on its double sub-field (elasticsearch.NumberSubField), anything else
// where its terms are.
func esOrdered(f *field) (t esTarget, ok bool) {
	t, ok = esTerms(f)
	if !t.Digits {
		return t, ok
	}
	subs, _ := f.ES["fields"].(map[string]any)
	if sub, _ := subs[elasticsearch.NumberSubField].(map[string]any); isNumeric(esType(sub)) && sub["index"] != false {
		return esTarget{Name: f.Name + "." + elasticsearch.NumberSubField, Type: esType(sub)}, true
	}
	return t, ok
}

func isNumeric(esType string) bool {
	switch esType {
	case "long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float":
		return true
	}
	return false
}
