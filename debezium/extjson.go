package debezium

import (
	"bytes"
	"encoding/base64"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// MongoDB Extended JSON, as the MongoDB connector writes it in after, before,
// patch, filter, updatedFields and the key's id: v1 strict ({"$date":
// <millis>}, {"$binary": "…", "$type": "04"}) and v2 relaxed or canonical
// ({"$date": "ISO"}, {"$binary": {"base64": "…", "subType": "04"}}).
//
// Values come out as the natural types of Change:
//
//	$oid                        → 24-digit lower-case hex string
//	$date                       → time.Time UTC, millisecond precision
//	$numberLong, $numberInt     → int64
//	$numberDouble               → float64; "NaN", "Infinity", "-Infinity" stay strings
//	$numberDecimal              → decimal.Decimal; NaN and infinities stay strings
//	$binary subtype 3 or 4      → canonical UUID string (16 bytes, as stored)
//	$binary other subtypes      → []byte
//	$uuid                       → canonical UUID string
//	$timestamp {t, i}           → map{"t": int64, "i": int64}
//	$regularExpression, $regex  → map{"pattern": string, "options": string}
//	$symbol, $code              → string; $code with $scope → map{"code", "scope"}
//	$minKey, $maxKey            → map{"$minKey": 1} / map{"$maxKey": 1}
//	$undefined                  → nil
//	$dbPointer                  → map{"$ref": string, "$id": hex string}
//	plain integers              → int64 (float64 beyond int64, as MongoDB reads them)
//	plain fractions             → float64
//
// An object is a wrapper only when its member names are exactly one of these
// forms; a wrapper whose value has the wrong shape is malformed.

// parseExtDoc parses Extended JSON text that must be a document; errors
// are placed under p.
func parseExtDoc(b []byte, p *path) (map[string]any, error) {
	st := &dec{s: scanner{data: b}}
	if tok := st.s.peek(); tok != '{' {
		return nil, under(st.unexpected("an Extended JSON document", tok), p)
	}
	v, err := st.extTop()
	if err != nil {
		return nil, under(err, p)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, under(bad("expected an Extended JSON document, found a %s wrapper", typeName(v)), p)
	}
	return m, nil
}

// ParseExtendedJSON parses one MongoDB Extended JSON value (v1 or v2) into
// the natural types listed above. Errors wrap ErrMalformed.
func ParseExtendedJSON(b []byte) (any, error) {
	st := &dec{s: scanner{data: b}}
	return st.extTop()
}

func parseExtValue(b []byte, p *path) (any, error) {
	st := &dec{s: scanner{data: b}}
	v, err := st.extTop()
	if err != nil {
		return nil, under(err, p)
	}
	return v, nil
}

func (st *dec) extTop() (any, error) {
	v, err := st.ext(0)
	if err != nil {
		return nil, err
	}
	if err := st.s.end(); err != nil {
		return nil, bad("%v", err)
	}
	return v, nil
}

// typeName names a decoded value's type for an error message, without the
// value itself (it may be personal data).
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case int64:
		return "integer"
	case float64:
		return "double"
	case decimal.Decimal:
		return "decimal"
	case bool:
		return "boolean"
	case time.Time:
		return "date"
	case []byte:
		return "binary"
	case map[string]any:
		return "document"
	case []any:
		return "array"
	case nil:
		return "null"
	}
	return "value"
}

func (st *dec) ext(depth int) (any, error) {
	if depth > maxDepth {
		return nil, bad("%v", errDepth)
	}
	switch tok := st.s.peek(); tok {
	case '{':
		st.s.pos++
		m := map[string]any{}
		wrapperKey := false
		for first := true; ; first = false {
			k, ok, err := st.s.nextMember(first)
			if err != nil {
				return nil, bad("%v", err)
			}
			if !ok {
				break
			}
			name := string(k)
			if len(name) > 0 && name[0] == '$' {
				wrapperKey = true
			}
			v, err := st.ext(depth + 1)
			if err != nil {
				return nil, prefixErr(err, name)
			}
			m[name] = v
		}
		if wrapperKey && len(m) <= 2 {
			return unwrapExt(m)
		}
		return m, nil
	case '[':
		st.s.pos++
		out := []any{}
		for i := 0; ; i++ {
			ok, err := st.s.nextElem(i == 0)
			if err != nil {
				return nil, bad("%v", err)
			}
			if !ok {
				return out, nil
			}
			v, err := st.ext(depth + 1)
			if err != nil {
				return nil, prefixErr(err, indexSeg(i))
			}
			out = append(out, v)
		}
	case '"':
		b, err := st.str()
		return string(b), err
	case 't':
		return true, st.lit("true")
	case 'f':
		return false, st.lit("false")
	case 'n':
		return nil, st.lit("null")
	case 0:
		return nil, bad("%v", errEOF)
	case 'N':
		// The connector writes documents in the Java driver's STRICT mode,
		// which writes a double by Double.toString: NaN and the infinities
		// come as bare tokens, not as {"$numberDouble": "NaN"}. They read
		// as that form does.
		return "NaN", st.lit("NaN")
	case 'I':
		return "Infinity", st.lit("Infinity")
	case '-':
		if st.s.pos+1 < len(st.s.data) && st.s.data[st.s.pos+1] == 'I' {
			return "-Infinity", st.lit("-Infinity")
		}
		fallthrough
	default:
		lit, isInt, err := st.s.number()
		if err != nil {
			return nil, bad("%v", err)
		}
		if isInt {
			if v, ok := parseInt(lit); ok {
				return v, nil
			}
		}
		return floatFromLiteral(lit)
	}
}

// unwrapExt converts an object of one or two members of which at least one
// starts with '$'. Objects that match no wrapper form stay documents.
func unwrapExt(m map[string]any) (any, error) {
	if len(m) == 2 {
		switch {
		case has(m, "$binary") && has(m, "$type"):
			b64, ok1 := m["$binary"].(string)
			sub, ok2 := m["$type"].(string)
			if !ok1 || !ok2 {
				return nil, bad("legacy $binary needs string $binary and $type")
			}
			return extBinary(b64, sub)
		case has(m, "$regex") && has(m, "$options"):
			pat, ok1 := m["$regex"].(string)
			opt, ok2 := m["$options"].(string)
			if !ok1 || !ok2 {
				return m, nil // a query operator, not a regular expression value
			}
			return map[string]any{"pattern": pat, "options": opt}, nil
		case has(m, "$code") && has(m, "$scope"):
			code, ok := m["$code"].(string)
			if !ok {
				return nil, bad("$code is not a string")
			}
			if _, ok := m["$scope"].(map[string]any); !ok {
				return nil, bad("$scope is not a document")
			}
			return map[string]any{"code": code, "scope": m["$scope"]}, nil
		}
		return m, nil
	}
	var k string
	var v any
	for k, v = range m {
	}
	v, err := unwrapOne(k, v)
	if err != nil {
		return nil, prefixErr(err, k)
	}
	if v == nil && k != "$undefined" {
		return m, nil
	}
	return v, nil
}

// unwrapOne converts the single-member wrapper {k: v}; a nil result for a
// key other than $undefined means k is no wrapper name.
func unwrapOne(k string, v any) (any, error) {
	switch k {
	case "$oid":
		s, ok := v.(string)
		if !ok || len(s) != 24 || !isHex(s) {
			return nil, bad("invalid ObjectId %v", quoteAny(v))
		}
		return strings.ToLower(s), nil
	case "$date":
		return extDate(v)
	case "$numberLong":
		s, ok := v.(string)
		if !ok {
			return nil, bad("expected a string")
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, bad("invalid $numberLong %s", brief(s))
		}
		return n, nil
	case "$numberInt":
		s, ok := v.(string)
		if !ok {
			return nil, bad("expected a string")
		}
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return nil, bad("invalid $numberInt %s", brief(s))
		}
		return n, nil
	case "$numberDouble":
		s, ok := v.(string)
		if !ok {
			return nil, bad("expected a string")
		}
		switch s {
		case "NaN", "Infinity", "-Infinity":
			return s, nil
		}
		// A decimal string, not Go's literals (1_000, 0x1p-2) ParseFloat
		// also takes.
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || !decimalFloat.MatchString(s) || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, bad("invalid $numberDouble %s", brief(s))
		}
		if f == 0 {
			f = 0 // -0.0 reads as 0, as a relaxed -0.0 does
		}
		return f, nil
	case "$numberDecimal":
		s, ok := v.(string)
		if !ok {
			return nil, bad("expected a string")
		}
		if special, ok := decimal128Special(s); ok {
			return special, nil
		}
		// Decimal128 holds 34 digits, but a string may pad them with
		// zeros (.000…1); past maxDecimal128Text it is no Decimal128.
		t := strings.TrimPrefix(s, "+")
		switch { // .5 and -.5 have no digit before the point
		case strings.HasPrefix(t, "."):
			t = "0" + t
		case strings.HasPrefix(t, "-."):
			t = "-0" + t[1:]
		}
		d, ok := decimalLiteralLimit([]byte(t), decimal128MaxExponent)
		if !ok || len(s) > maxDecimal128Text || strings.HasPrefix(s, "+-") {
			return nil, bad("invalid $numberDecimal %s", brief(s))
		}
		return d, nil
	case "$binary":
		b, ok := v.(map[string]any)
		if !ok {
			return nil, bad("expected {base64, subType}")
		}
		b64, ok1 := b["base64"].(string)
		sub, ok2 := b["subType"].(string)
		if !ok1 || !ok2 || len(b) != 2 {
			return nil, bad("expected {base64, subType}")
		}
		return extBinary(b64, sub)
	case "$uuid":
		s, ok := v.(string)
		if !ok {
			return nil, bad("expected a string")
		}
		u, ok := uuidString([]byte(s))
		if !ok {
			return nil, bad("invalid UUID %s", brief(s))
		}
		return u, nil
	case "$timestamp":
		ts, ok := v.(map[string]any)
		t, ok1 := ts["t"].(int64)
		i, ok2 := ts["i"].(int64)
		if !ok || !ok1 || !ok2 || len(ts) != 2 || t < 0 || i < 0 || t > math.MaxUint32 || i > math.MaxUint32 {
			return nil, bad("expected {t, i} unsigned 32-bit integers")
		}
		return map[string]any{"t": t, "i": i}, nil
	case "$regularExpression":
		re, ok := v.(map[string]any)
		pat, ok1 := re["pattern"].(string)
		opt, ok2 := re["options"].(string)
		if !ok || !ok1 || !ok2 || len(re) != 2 {
			return nil, bad("expected {pattern, options} strings")
		}
		return map[string]any{"pattern": pat, "options": opt}, nil
	case "$symbol", "$code":
		s, ok := v.(string)
		if !ok {
			return nil, bad("expected a string")
		}
		return s, nil
	case "$minKey", "$maxKey":
		if n, ok := v.(int64); !ok || n != 1 {
			return nil, bad("expected 1")
		}
		return map[string]any{k: int64(1)}, nil
	case "$undefined":
		if b, ok := v.(bool); !ok || !b {
			return nil, bad("expected true")
		}
		return nil, nil
	case "$dbPointer":
		// $id is an ObjectId, which extTop has turned into its hex.
		ref, ok := v.(map[string]any)
		_, ok1 := ref["$ref"].(string)
		id, ok2 := ref["$id"].(string)
		if !ok || !ok1 || !ok2 || len(ref) != 2 || len(id) != 24 || !isHex(id) {
			return nil, bad("expected {$ref, $id: an ObjectId}")
		}
		return ref, nil
	}
	return nil, nil
}

// decimalFloat is a $numberDouble's decimal string.
var decimalFloat = regexp.MustCompile(`^-?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$`)

// maxDecimal128Text bounds a $numberDecimal's text: the BSON corpus has
// strings of 1,000 characters (zeros padding one digit).
const maxDecimal128Text = 4096

// decimal128Special reads Decimal128's non-finite values, in any case and
// with any sign, as the BSON corpus parses them: inf, -Infinity, +nan, -NaN.
func decimal128Special(s string) (string, bool) {
	body := strings.TrimLeft(s, "+-")
	if len(s)-len(body) > 1 {
		return "", false
	}
	switch strings.ToLower(body) {
	case "nan":
		return "NaN", true
	case "inf", "infinity":
		if strings.HasPrefix(s, "-") {
			return "-Infinity", true
		}
		return "Infinity", true
	}
	return "", false
}

func has(m map[string]any, k string) bool {
	_, ok := m[k]
	return ok
}

func quoteAny(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return typeName(v)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if _, ok := unhex(s[i]); !ok {
			return false
		}
	}
	return true
}

// decimal128MaxExponent bounds $numberDecimal: IEEE 754 decimal128 has
// exponents up to 6144 (plus 33 more digits).
const decimal128MaxExponent = 6200

// extDate reads $date: millis as a number or {"$numberLong"} (already an
// int64 here), or an ISO-8601 string. Dates keep millisecond precision, as
// MongoDB stores them.
func extDate(v any) (any, error) {
	var ms int64
	switch v := v.(type) {
	case int64:
		ms = v
	case float64:
		if v != math.Trunc(v) || math.Abs(v) > 1<<62 {
			return nil, bad("date %v is not whole milliseconds", v)
		}
		ms = int64(v)
	case string:
		t, ok := parseTimestamp(v)
		if !ok {
			return nil, bad("invalid date %s", brief(v))
		}
		ms = t.UnixMilli()
	default:
		return nil, bad("expected milliseconds or an ISO-8601 string")
	}
	t := time.UnixMilli(ms).UTC()
	if !inYears(t) {
		return nil, bad("date %d ms is %s", ms, unsupportedYears)
	}
	return t, nil
}

func extBinary(b64, sub string) (any, error) {
	st, err := strconv.ParseUint(sub, 16, 8)
	if err != nil {
		return nil, bad("invalid binary subtype %s", brief(sub))
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, bad("invalid base64: %v", err)
	}
	if (st == 3 || st == 4) && len(raw) == 16 {
		return formatUUID(raw), nil
	}
	return bytes.Clone(raw), nil
}
