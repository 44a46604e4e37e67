package query

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/sinks/elasticsearch"
)

// maxValueBytes bounds one request value. Longer text can equal nothing a
// view holds that is worth an index lookup, and a numeric of that many
// digits is only a way to make the server work.
const maxValueBytes = 4096

// parseValue checks a request value against the field's type and returns
// its canonical text, which is bound as a text parameter and cast to the
// column type in SQL. Only scalar types are accepted.
func parseValue(t config.Type, s string) (string, error) {
	if len(s) > maxValueBytes {
		return "", fmt.Errorf("value longer than %d bytes", maxValueBytes)
	}
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return "", errors.New("value is not valid UTF-8 text")
	}
	switch t.Name {
	case "smallint", "integer", "bigint":
		bits := map[string]int{"smallint": 16, "integer": 32, "bigint": 64}[t.Name]
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, bits)
		if err != nil {
			return "", fmt.Errorf("not a %s", t.Name)
		}
		return strconv.FormatInt(n, 10), nil
	case "numeric":
		if len(s) > 100 {
			return "", errors.New("not a numeric of at most 100 characters")
		}
		d, err := decimal.NewFromString(strings.TrimSpace(s))
		if err != nil || strings.ContainsAny(s, "eE") {
			return "", errors.New("not a decimal number")
		}
		return d.String(), nil
	case "real", "double precision":
		bits := 64
		if t.Name == "real" {
			bits = 32
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(s), bits)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return "", errors.New("not a finite number")
		}
		return strconv.FormatFloat(f, 'g', -1, bits), nil
	case "boolean":
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "t", "1", "yes":
			return "true", nil
		case "false", "f", "0", "no":
			return "false", nil
		}
		return "", errors.New("not a boolean (true or false)")
	case "text", "varchar":
		return s, nil
	case "uuid":
		return parseUUID(s)
	case "date":
		d, err := time.Parse("2006-01-02", s)
		if err != nil {
			return "", errors.New("not a date (YYYY-MM-DD)")
		}
		return d.Format("2006-01-02"), nil
	case "time":
		// As the engine writes it, which a keyword in Elasticsearch can
		// only match as the same text.
		t, ok := engineTimeOfDay(s)
		if !ok {
			return "", errors.New("not a time (HH:MM:SS[.ffffff])")
		}
		return t, nil
	case "timestamptz", "timestamp":
		ts, err := parseTimestamp(s, time.UTC)
		if err != nil {
			return "", err
		}
		// As the engine writes both (RFC 3339, UTC): a Redis key or a doc
		// id holds this text; PostgreSQL's timestamp cast ignores the Z.
		return ts.UTC().Format(time.RFC3339Nano), nil
	}
	return "", fmt.Errorf("a %s field cannot be compared", t)
}

// parseTimestamp accepts RFC 3339 (with or without fraction and offset; no
// offset means UTC) and a date alone (its midnight, UTC).
func parseTimestamp(s string, loc *time.Location) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999", "2006-01-02"} {
		if ts, err := time.ParseInLocation(layout, s, loc); err == nil {
			return ts, nil
		}
	}
	return time.Time{}, errors.New("not a timestamp (RFC 3339, e.g. 2024-05-01T12:00:00Z)")
}

func parseUUID(s string) (string, error) {
	if len(s) != 36 {
		return "", errors.New("not a UUID")
	}
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", errors.New("not a UUID")
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return "", errors.New("not a UUID")
			}
		}
	}
	return string(b), nil
}

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
