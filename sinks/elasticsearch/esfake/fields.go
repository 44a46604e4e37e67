package esfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// field is a query or sort field resolved against an index's mappings.
type field struct {
	name        string
	typ         string // mapping type; "" when unmapped
	path        []string
	ignoreAbove int
	malformedOK bool    // ignore_malformed: values the type cannot parse are not indexed
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
	if name == IgnoredField {
		f.typ = "keyword"
		f.path = []string{IgnoredField}
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
						f.malformedOK = sub["ignore_malformed"] == true
						if sf, ok := sub["scaling_factor"]; ok {
							f.scale, _ = numberOf(sf)
						}
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
	f.malformedOK = def["ignore_malformed"] == true
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
			if s, ok := v.(string); ok && f.ignoreAbove > 0 && utf16Len(s) > f.ignoreAbove {
				return
			}
			if f.malformedOK && checkValue(f.typ, v) != "" {
				return
			}
			out = append(out, v)
		}
	}
	walk(src, f.path)
	return out
}

// key normalizes a stored value to what the field type indexes, for
// equality, ordering and aggregation keys: int64 for integer types (exact;
// a fraction is truncated, as coerce does), the scaled int64 for
// scaled_float, float64 for other numbers, int64 epoch millis for dates,
// bool for booleans, string for keywords.
func (f field) key(v any) (any, bool) {
	switch f.typ {
	case "long", "integer", "short", "byte":
		return storedLong(v)
	case "unsigned_long":
		n, ok := numberOf(v)
		return math.Trunc(n), ok
	case "double", "float", "half_float":
		return numberOf(v)
	case "scaled_float":
		n, ok := numberOf(v)
		if ok && f.scale > 0 {
			// ScaledFloatFieldMapper stores Math.round(value × factor).
			return javaRound(n * f.scale), true
		}
		return n, ok
	case "date", "date_nanos":
		return dateMillis(v)
	case "ip":
		// Ordered as Elasticsearch indexes addresses: 16 bytes, IPv4 mapped.
		a, err := netip.ParseAddr(scalarString(v))
		if err != nil {
			return nil, false
		}
		return ipKey(a.As16()), true
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

// ipKey is the key of an ip field's value.
type ipKey [16]byte

// termKey is the key a term query looks for: as key, except that a value
// with a fraction matches nothing on an integer field
// (NumberFieldMapper.NumberType.LONG.termQuery), rather than its truncation.
func (f field) termKey(v any) (any, bool) {
	switch f.typ {
	case "long", "integer", "short", "byte":
		r, ok := exactRat(v)
		if !ok || !r.IsInt() || !r.Num().IsInt64() {
			return nil, false
		}
		return r.Num().Int64(), true
	}
	return f.key(v)
}

// rangeBound is a range query's bound as compared with the stored keys:
// on an integer field the exact value (a *big.Rat: 1 is not >= 1.5, as
// Elasticsearch rounds gte/gt bounds up and lt/lte down); on scaled_float
// the scaled bound, ceil (lower) or floor (upper) of bound × factor, after
// a step past the bound when it is exclusive (ScaledFloatFieldMapper
// rangeQuery), then inclusive.
func (f field) rangeBound(v any, lower, inclusive bool) (key any, incl, ok bool) {
	switch f.typ {
	case "long", "integer", "short", "byte":
		r, ok := exactRat(v)
		return r, inclusive, ok
	case "scaled_float":
		if f.scale <= 0 {
			break
		}
		d, ok := numberOf(v)
		if !ok {
			return nil, false, false
		}
		if lower {
			if !inclusive {
				d = math.Nextafter(d, math.Inf(1))
			}
			return javaRound(math.Ceil(d * f.scale)), true, true
		}
		if !inclusive {
			d = math.Nextafter(d, math.Inf(-1))
		}
		return javaRound(math.Floor(d * f.scale)), true, true
	case "text":
		return scalarString(v), inclusive, true
	case "date", "date_nanos":
		// Elasticsearch parses a gt or lte bound rounding up: the
		// components its text leaves out are their maximum
		// (DateFieldMapper.dateRangeQuery, "missing date components").
		ms, ok := dateMillis(v)
		if ok && lower != inclusive {
			ms = roundUpDate(v, ms)
		}
		return ms, inclusive, ok
	}
	k, ok := f.key(v)
	return k, inclusive, ok
}

// roundUpDate is the date v, parsed as ms, with the components its text
// leaves out at their maximum: a day alone is its last millisecond, a time
// without seconds its minute's, one without a fraction its second's.
func roundUpDate(v any, ms int64) int64 {
	s, ok := v.(string)
	if !ok || s == "now" {
		return ms
	}
	day, clock, timed := strings.Cut(strings.Replace(s, " ", "T", 1), "T")
	switch {
	case !timed && len(day) == len("2006-01-02"):
		return ms + (24*time.Hour - time.Millisecond).Milliseconds()
	case !timed:
		return ms
	}
	// The time, without its zone.
	if i := strings.IndexAny(clock, "Z+-"); i >= 0 {
		clock = clock[:i]
	}
	switch {
	case strings.Contains(clock, "."):
		return ms
	case strings.Count(clock, ":") == 1:
		return ms + (time.Minute - time.Millisecond).Milliseconds()
	case strings.Count(clock, ":") == 0:
		return ms + (time.Hour - time.Millisecond).Milliseconds()
	}
	return ms + (time.Second - time.Millisecond).Milliseconds()
}

// storedLong parses a long field's value as Elasticsearch does: an integer
// exactly, a JSON number with a fraction or exponent through double and
// truncated, a string through BigDecimal and truncated. Values out of the
// long range are not longs.
func storedLong(v any) (int64, bool) {
	switch t := v.(type) {
	case json.Number:
		if n, err := strconv.ParseInt(t.String(), 10, 64); err == nil {
			return n, true
		}
		if !strings.ContainsAny(t.String(), ".eE") {
			return 0, false // an integer out of range
		}
		d, err := t.Float64()
		if err != nil {
			return 0, false
		}
		return doubleToLong(d)
	case float64:
		return doubleToLong(t)
	case int64:
		return t, true
	case int:
		return int64(t), true
	case string:
		s := strings.TrimSpace(t)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, true
		}
		r, ok := exactRat(s)
		if !ok {
			return 0, false
		}
		q := new(big.Int).Quo(r.Num(), r.Denom()) // truncated toward zero
		return q.Int64(), q.IsInt64()
	}
	return 0, false
}

// doubleToLong truncates a double to a long, refusing what is out of range.
func doubleToLong(d float64) (int64, bool) {
	if math.IsNaN(d) || d < -(1<<63) || d >= 1<<63 {
		return 0, false
	}
	return int64(d), true
}

// exactRat is a numeric value as an exact rational: decimal text (JSON
// numbers, numeric strings) keeps every digit.
func exactRat(v any) (*big.Rat, bool) {
	switch t := v.(type) {
	case json.Number:
		return exactRat(t.String())
	case string:
		s := strings.TrimSpace(t)
		// big.Rat also reads "a/b" and hexadecimal, which are not numbers here.
		if _, err := strconv.ParseFloat(s, 64); err != nil || strings.ContainsAny(s, "/xXpP_") {
			return nil, false
		}
		return new(big.Rat).SetString(s)
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return nil, false
		}
		return new(big.Rat).SetFloat64(t), true
	case int64:
		return new(big.Rat).SetInt64(t), true
	case int:
		return new(big.Rat).SetInt64(int64(t)), true
	}
	return nil, false
}

// javaRound is Java's Math.round(double): floor(x + 0.5), saturating at
// the long range (NaN is 0).
func javaRound(x float64) int64 {
	r := math.Floor(x + 0.5)
	switch {
	case math.IsNaN(r):
		return 0
	case r >= 1<<63:
		return math.MaxInt64
	case r < -(1 << 63):
		return math.MinInt64
	}
	return int64(r)
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
	if r, ok := b.(*big.Rat); ok {
		// A range bound on an integer field (rangeBound).
		x, ok := a.(int64)
		if !ok {
			return strings.Compare(fmt.Sprint(a), r.String())
		}
		return new(big.Rat).SetInt64(x).Cmp(r)
	}
	switch x := a.(type) {
	case float64:
		y, _ := b.(float64)
		return cmp3(x < y, x > y)
	case ipKey:
		y, _ := b.(ipKey)
		return bytes.Compare(x[:], y[:])
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

// keyFloat is a numeric key's value as a double, for metric aggregations.
func (f field) keyFloat(k any) (float64, bool) {
	switch t := k.(type) {
	case float64:
		return t, true
	case int64:
		if f.typ == "scaled_float" && f.scale > 0 {
			return float64(t) / f.scale, true
		}
		return float64(t), true
	}
	return 0, false
}

// keyJSON renders an aggregation or sort key as Elasticsearch does: whole
// numbers for integer and date fields, doubles for scaled_float, 1/0 for
// booleans.
func (f field) keyJSON(k any) any {
	switch t := k.(type) {
	case int64:
		if f.typ == "scaled_float" && f.scale > 0 {
			return float64(t) / f.scale
		}
		return t
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
	case ipKey:
		return netip.AddrFrom16(t).Unmap().String()
	}
	return k
}
