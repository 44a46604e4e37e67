package esfake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// mergeMapping merges src into dst: properties recursively, other keys
// replaced, as Elasticsearch merges a template's mappings with a request's.
func mergeMapping(dst, src map[string]any) {
	for k, v := range src {
		if k == "properties" {
			sp, _ := v.(map[string]any)
			dp, ok := dst["properties"].(map[string]any)
			if !ok {
				dp = map[string]any{}
				dst["properties"] = dp
			}
			for name, def := range sp {
				sd, _ := def.(map[string]any)
				if dd, ok := dp[name].(map[string]any); ok && sd != nil && isObjectDef(dd) && isObjectDef(sd) {
					mergeMapping(dd, sd)
					continue
				}
				dp[name] = def
			}
			continue
		}
		dst[k] = v
	}
}

func isObjectDef(def map[string]any) bool {
	t, _ := def["type"].(string)
	return t == "" || t == "object" || t == "nested"
}

// metadataFields may not appear inside a document's source.
var metadataFields = map[string]bool{
	"_id": true, "_index": true, "_source": true, "_routing": true, "_version": true, "_seq_no": true,
	"_primary_term": true, "_ignored": true, "_field_names": true, "_doc_count": true, "_tier": true,
	"_nested_path": true, "_data_stream_timestamp": true, "_feature": true,
}

// mappingUpdate is a dynamically mapped field, applied only when the whole
// document parsed, as Elasticsearch applies a mapping update.
type mappingUpdate struct {
	props map[string]any
	name  string
	def   map[string]any
}

// docParser checks one document against an index's mappings.
type docParser struct {
	id      string
	source  []byte
	updates []mappingUpdate
	ignored map[string]bool // fields not indexed: see IgnoredField
}

// IgnoredField is the metadata field listing the fields of a document that
// were not indexed: a value that ignore_malformed let through, a keyword
// longer than ignore_above. Searches and gets return it with the hit, and
// term, terms and exists queries match on it. The parsed fields of a doc
// hold it under this name, which no source may use.
const IgnoredField = "_ignored"

func (p *docParser) ignore(full string) {
	if p.ignored == nil {
		p.ignored = map[string]bool{}
	}
	p.ignored[full] = true
}

// parseDoc decodes a source and validates it against the mappings, adding
// dynamic mappings for new fields. The fields it returns are what queries
// see: dotted names expanded into objects (see expandDots), and
// IgnoredField. Callers hold s.mu.
func parseDoc(ix *index, id string, source []byte) (map[string]any, *esError) {
	if e := parserConstraints(source); e != nil {
		return nil, e
	}
	var obj map[string]any
	dec := json.NewDecoder(bytes.NewReader(source))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil || obj == nil {
		reason := "[1:1] failed to parse: source is not a JSON object"
		if err != nil {
			reason = "[1:1] failed to parse: " + err.Error()
		}
		return nil, &esError{Type: "document_parsing_exception", Reason: reason}
	}
	p := &docParser{id: id, source: source}
	props, ok := ix.mappings["properties"].(map[string]any)
	if !ok {
		props = map[string]any{}
	}
	if e := p.object(obj, props, dynamicOf(ix.mappings, "true"), "", "_doc"); e != nil {
		return nil, e
	}
	if len(p.ignored) > 0 {
		names := make([]string, 0, len(p.ignored))
		for n := range p.ignored {
			names = append(names, n)
		}
		sort.Strings(names)
		list := make([]any, len(names))
		for i, n := range names {
			list[i] = n
		}
		obj[IgnoredField] = list
	}
	if len(p.updates) > 0 {
		if e := p.applyUpdates(ix, props); e != nil {
			return nil, e
		}
	}
	return obj, nil
}

func dynamicOf(def map[string]any, inherited string) string {
	switch v := def["dynamic"].(type) {
	case bool:
		return strconv.FormatBool(v)
	case string:
		return v
	}
	return inherited
}

// col approximates the "[line:col]" prefix of a parsing error: the column
// just after the field's name in the source.
func (p *docParser) col(name string) string {
	i := bytes.Index(p.source, []byte(`"`+name+`"`))
	if i < 0 {
		return "[1:1]"
	}
	return fmt.Sprintf("[1:%d]", i+len(name)+4)
}

func (p *docParser) object(obj, props map[string]any, dynamic, prefix, parent string) *esError {
	if e := p.expandDots(obj); e != nil {
		return e
	}
	for name, v := range obj {
		full := name
		if prefix != "" {
			full = prefix + "." + name
		}
		// DocumentParser.innerParseObject refuses a blank name at any depth,
		// before mapping it.
		if blank(name) {
			return &esError{Type: "document_parsing_exception", Reason: p.col(name) +
				" Field name cannot contain only whitespace: [" + full + "]"}
		}
		if prefix == "" && metadataFields[name] {
			return &esError{Type: "document_parsing_exception", Reason: p.col(name) + " Field [" + name +
				"] is a metadata field and cannot be added inside a document. Use the index API request parameters."}
		}
		def, ok := props[name].(map[string]any)
		if !ok {
			if v == nil {
				continue
			}
			switch dynamic {
			case "strict":
				return &esError{Type: "strict_dynamic_mapping_exception", Reason: p.col(name) + " mapping set to strict, dynamic introduction of [" +
					name + "] within [" + parent + "] is not allowed"}
			case "false", "runtime":
				continue
			}
			def = dynamicDef(v)
			if def == nil {
				continue
			}
			p.updates = append(p.updates, mappingUpdate{props: props, name: name, def: def})
		}
		if e := p.value(v, def, dynamic, full, name); e != nil {
			return e
		}
	}
	return nil
}

// expandDots replaces each field of obj whose name holds dots by the
// objects it names, as Elasticsearch parses {"a.b": 1} as {"a": {"b": 1}}
// (merged with a field "a" of the same object, values of one name becoming
// an array). A name starting or ending with a dot, or with two in a row, is
// refused as Elasticsearch refuses it. Only the parsed fields change: the
// _source keeps the names as sent.
func (p *docParser) expandDots(obj map[string]any) *esError {
	var dotted []string
	for name := range obj {
		if strings.Contains(name, ".") {
			dotted = append(dotted, name)
		}
	}
	sort.Strings(dotted) // a deterministic order of values merged into one array
	for _, name := range dotted {
		if strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") {
			return &esError{Type: "document_parsing_exception", Reason: p.col(name) +
				" object field starting or ending with a [.] makes object resolution ambiguous: [" + name + "]"}
		}
		segs := strings.Split(name, ".")
		for _, seg := range segs {
			if blank(seg) {
				return &esError{Type: "document_parsing_exception", Reason: p.col(name) +
					" field name cannot contain only whitespace: ['" + name + "']"}
			}
		}
		v := obj[name]
		delete(obj, name)
		for i := len(segs) - 1; i > 0; i-- {
			v = map[string]any{segs[i]: v}
		}
		obj[segs[0]] = mergeValues(obj[segs[0]], v)
	}
	return nil
}

// blank is Java's String.isBlank, which Elasticsearch tests field names
// with: true for "" and for names of whitespace only. Java's whitespace is
// not unicode.IsSpace: it leaves out the no-break spaces (U+00A0, U+2007,
// U+202F) and U+0085, and takes in U+001C–U+001F.
func blank(name string) bool {
	return strings.TrimFunc(name, func(r rune) bool {
		switch r {
		case '\u00a0', '\u2007', '\u202f', '\u0085':
			return false
		case '\u001c', '\u001d', '\u001e', '\u001f':
			return true
		}
		return unicode.IsSpace(r)
	}) == ""
}

// mergeValues merges two values of one field name: objects field by field,
// anything else into an array of both.
func mergeValues(old, v any) any {
	if old == nil {
		return v
	}
	om, ok1 := old.(map[string]any)
	vm, ok2 := v.(map[string]any)
	if ok1 && ok2 {
		for k, x := range vm {
			om[k] = mergeValues(om[k], x)
		}
		return om
	}
	var out []any
	for _, x := range []any{old, v} {
		if arr, ok := x.([]any); ok {
			out = append(out, arr...)
		} else {
			out = append(out, x)
		}
	}
	return out
}

// dynamicDef is Elasticsearch's default dynamic mapping of a JSON value:
// strings become text with a keyword sub-field (or date when they look like
// one), integers long, other numbers float, objects object.
func dynamicDef(v any) map[string]any {
	switch t := v.(type) {
	case string:
		if len(t) >= 10 && looksLikeDate(t) {
			return map[string]any{"type": "date"}
		}
		return map[string]any{"type": "text", "fields": map[string]any{"keyword": map[string]any{"type": "keyword", "ignore_above": json.Number("256")}}}
	case json.Number:
		if strings.ContainsAny(t.String(), ".eE") {
			return map[string]any{"type": "float"}
		}
		return map[string]any{"type": "long"}
	case bool:
		return map[string]any{"type": "boolean"}
	case map[string]any:
		return map[string]any{"properties": map[string]any{}}
	case []any:
		for _, e := range t {
			if e != nil {
				return dynamicDef(e)
			}
		}
	}
	return nil
}

func (p *docParser) value(v any, def map[string]any, dynamic, full, name string) *esError {
	if v == nil {
		return nil
	}
	if def["enabled"] == false {
		// An object with "enabled": false is not parsed at all, so any JSON
		// value is accepted and kept in _source only
		// (DocumentParser.parseObjectOrNested skips it before the
		// concrete-value check).
		return nil
	}
	if arr, ok := v.([]any); ok {
		for _, e := range arr {
			if e := p.value(e, def, dynamic, full, name); e != nil {
				return e
			}
		}
		return nil
	}
	typ, _ := def["type"].(string)
	if typ == "" || typ == "object" || typ == "nested" {
		sub, ok := v.(map[string]any)
		if !ok {
			return &esError{Type: "document_parsing_exception", Reason: p.col(name) + " object mapping for [" + full +
				"] tried to parse field [" + name + "] as object, but found a concrete value"}
		}
		props, ok := def["properties"].(map[string]any)
		if !ok {
			props = map[string]any{}
			def["properties"] = props
		}
		return p.object(sub, props, dynamicOf(def, dynamic), full, full)
	}
	if e := p.check(v, def, typ, full, name); e != nil {
		return e
	}
	// A multi-field indexes the same value as its own type: a value it
	// cannot parse fails the doc as the field itself would.
	subs, _ := def["fields"].(map[string]any)
	for sub, sd := range subs {
		sdef, _ := sd.(map[string]any)
		styp, _ := sdef["type"].(string)
		if e := p.check(v, sdef, styp, full+"."+sub, name); e != nil {
			return e
		}
	}
	return nil
}

// check refuses a value a field of type typ cannot parse, unless the field
// has ignore_malformed: Elasticsearch then indexes the doc without that
// field's value.
func (p *docParser) check(v any, def map[string]any, typ, full, name string) *esError {
	cause := checkValue(typ, v)
	if cause == "" && typ == "keyword" {
		if s, ok := v.(string); ok {
			if ia := intOf(def["ignore_above"]); ia > 0 && utf16Len(s) > ia {
				p.ignore(full)
			}
		}
		return immenseTerm(v, def, full)
	}
	if cause == "" {
		return nil
	}
	if def["ignore_malformed"] == true {
		p.ignore(full)
		return nil
	}
	return &esError{
		Type: "document_parsing_exception",
		Reason: fmt.Sprintf("%s failed to parse field [%s] of type [%s] in document with id '%s'. Preview of field's value: '%s'",
			p.col(name), full, typ, p.id, preview(v)),
		Cause: &esError{Type: "illegal_argument_exception", Reason: cause},
	}
}

// maxTermBytes is Lucene's limit on one indexed term (and one sorted doc
// value): IndexWriter.MAX_TERM_LENGTH.
const maxTermBytes = 32766

// immenseTerm refuses a keyword value whose UTF-8 encoding is longer than
// Lucene takes, unless ignore_above drops it or the field is neither
// indexed nor has doc values. Lucene refuses the document when the
// shard indexes it, after parsing, so the item fails with the
// IllegalArgumentException of IndexingChain (status 400).
func immenseTerm(v any, def map[string]any, full string) *esError {
	if def["index"] == false && def["doc_values"] == false {
		return nil
	}
	s := scalarString(v)
	if len(s) <= maxTermBytes {
		return nil
	}
	if ia := intOf(def["ignore_above"]); ia > 0 && utf16Len(s) > ia {
		return nil
	}
	prefix := make([]string, 30)
	for i := range prefix {
		prefix[i] = strconv.Itoa(int(int8(s[i])))
	}
	original := fmt.Sprintf("bytes can be at most %d in length; got %d", maxTermBytes, len(s))
	return &esError{
		Type: "illegal_argument_exception",
		Reason: fmt.Sprintf("Document contains at least one immense term in field=\"%s\" (whose UTF8 encoding is longer than the max length %d), all of which were skipped.  Please correct the analyzer to not produce such terms.  The prefix of the first immense term is: '[%s]...', original message: %s",
			full, maxTermBytes, strings.Join(prefix, ", "), original),
		Cause: &esError{Type: "max_bytes_length_exceeded_exception", Reason: "max_bytes_length_exceeded_exception: " + original},
	}
}

// utf16Len is a string's length as Java counts it, which ignore_above
// compares with.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}

// checkValue returns why v is not a valid value of a field of that type,
// or "" when it is.
func checkValue(typ string, v any) string {
	if _, ok := v.(map[string]any); ok && typ != "flattened" && typ != "geo_point" {
		return "Cannot parse an object as a value of type [" + typ + "]"
	}
	switch typ {
	case "long", "integer", "short", "byte", "unsigned_long", "double", "float", "half_float", "scaled_float":
		switch t := v.(type) {
		case json.Number, string:
			// Past double's range a number parses as infinite, which no
			// numeric field takes.
			if n, ok := numberOf(t); !ok || math.IsInf(n, 0) || math.IsNaN(n) {
				if s, _ := t.(string); s != "" {
					return `For input string: "` + s + `"`
				}
				return "[" + typ + "] supports only finite values, but got [" + scalarString(t) + "]"
			}
			if _, ok := storedLong(t); typ == "long" && !ok {
				return "Value [" + scalarString(t) + "] is out of range for a long"
			}
			return ""
		case bool:
			return "Current token (VALUE_" + strings.ToUpper(strconv.FormatBool(t)) + ") not numeric, can not use numeric value accessors"
		}
	case "boolean":
		switch t := v.(type) {
		case bool:
			return ""
		case string:
			if t == "true" || t == "false" || t == "" {
				return ""
			}
			return "Failed to parse value [" + t + "] as only [true] or [false] are allowed."
		default:
			return "Failed to parse value [" + scalarString(v) + "] as only [true] or [false] are allowed."
		}
	case "date", "date_nanos":
		switch t := v.(type) {
		case json.Number:
			return ""
		case string:
			if _, ok := parseDate(t); ok {
				return ""
			}
			return "failed to parse date field [" + t + "] with format [strict_date_optional_time||epoch_millis]"
		default:
			return "failed to parse date field [" + scalarString(v) + "] with format [strict_date_optional_time||epoch_millis]"
		}
	case "ip":
		if s, ok := v.(string); ok {
			if _, err := netip.ParseAddr(s); err == nil {
				return ""
			}
		}
		return "'" + scalarString(v) + "' is not an IP string literal."
	case "binary":
		if s, ok := v.(string); ok {
			if _, err := base64.StdEncoding.DecodeString(s); err == nil {
				return ""
			}
		}
		return "Failed to decode base64"
	}
	return ""
}

func preview(v any) string {
	switch t := v.(type) {
	case map[string]any:
		b, _ := json.Marshal(t)
		return string(b)
	}
	return scalarString(v)
}

// dateLayouts cover strict_date_optional_time: a date, optionally a time
// with optional fraction (up to nanoseconds) and zone.
var dateLayouts = []string{
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02T15Z07:00",
	"2006-01-02T15",
	"2006-01-02Z07:00",
	"2006-01-02",
	"2006-01",
	"2006",
}

// parseDate parses strict_date_optional_time (UTC when no zone is given).
func parseDate(s string) (time.Time, bool) {
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// looksLikeDate is date detection for dynamic mapping: the default
// dynamic_date_formats are strict_date_optional_time and
// "yyyy/MM/dd HH:mm:ss Z||yyyy/MM/dd Z".
func looksLikeDate(s string) bool {
	if _, ok := parseDate(s); ok && strings.Count(s, "-") >= 2 {
		return true
	}
	for _, l := range []string{"2006/01/02 15:04:05 -0700", "2006/01/02 -0700", "2006/01/02"} {
		if _, err := time.Parse(l, s); err == nil {
			return true
		}
	}
	return false
}

// dateMillis converts a date field value (string or epoch millis) to epoch
// milliseconds.
func dateMillis(v any) (int64, bool) {
	switch t := v.(type) {
	case json.Number:
		f, err := t.Float64()
		return int64(f), err == nil
	case float64:
		return int64(t), true
	case int64:
		return t, true
	case string:
		if t == "now" {
			return time.Now().UnixMilli(), true
		}
		if d, ok := parseDate(t); ok {
			return d.UnixMilli(), true
		}
		if n, err := strconv.ParseInt(t, 10, 64); err == nil {
			return n, true
		}
	}
	return 0, false
}

// numberOf converts a numeric field value (number or numeric string).
func numberOf(v any) (float64, bool) {
	switch t := v.(type) {
	case json.Number:
		f, err := t.Float64()
		return f, err == nil && !math.IsInf(f, 0)
	case float64:
		return t, true
	case int:
		return float64(t), true
	case int64:
		return float64(t), true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
		return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
	case bool:
		if t {
			return 1, true
		}
		return 0, true
	}
	return math.NaN(), false
}
