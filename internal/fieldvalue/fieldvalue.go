// Package fieldvalue reads a value written as text (a query parameter, an
// id a test case names) as a field of a given type, the way the query API
// compares it with what a view holds. It is shared by the query API and
// `projector test`, so that an id names the same document in both.
package fieldvalue

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/debezium"
)

// ErrIncomparable is Parse's error for a type whose values are not
// compared (jsonb, json, bytea).
var ErrIncomparable = errors.New("cannot be compared")

// maxValueBytes bounds one request value. Longer text can equal nothing a
// view holds that is worth an index lookup, and a numeric of that many
// digits is only a way to make the server work.
const maxValueBytes = 4096

// Parse checks a request value against the field's type and returns
// its canonical text, which is bound as a text parameter and cast to the
// column type in SQL. Only scalar types are accepted.
func Parse(t config.Type, s string) (string, error) {
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
		t, ok := TimeOfDay(s)
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
	return "", fmt.Errorf("a %s field %w", t, ErrIncomparable)
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

// TimeOfDay is a time of day (HH:MM:SS[.fraction]) as the engine
// writes it: no fraction, or 6 digits (a finer fraction rounded as
// PostgreSQL rounds it, 23:59:59.9999999 to 24:00:00). PostgreSQL's
// 24:00:00, the end of a day, is one too (Go's clock stops at 23:59:59).
func TimeOfDay(s string) (string, bool) {
	d, ok := ParseTimeOfDay(s)
	if !ok {
		return "", false
	}
	return FormatTimeOfDay(d), true
}

// ParseTimeOfDay reads a time of day (HH:MM:SS[.fraction], 24:00:00
// included) as the time since midnight, to the nanosecond as written:
// whether it is finer than the microseconds a store holds is the caller's
// to see.
func ParseTimeOfDay(s string) (time.Duration, bool) {
	if frac, ok := strings.CutPrefix(s, "24:00:00"); ok {
		digits, dot := strings.CutPrefix(frac, ".")
		if frac == "" || (dot && digits != "" && strings.Trim(digits, "0") == "") {
			return 24 * time.Hour, true
		}
		return 0, false
	}
	t, err := time.Parse("15:04:05.999999999", s)
	if err != nil {
		return 0, false
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute +
		time.Duration(t.Second())*time.Second + time.Duration(t.Nanosecond()), true
}

// FormatTimeOfDay writes the time d since midnight as the engine writes a
// time of day (see TimeOfDay).
func FormatTimeOfDay(d time.Duration) string { return debezium.TimeOfDay(d).String() }

// MicrosecondsAround returns, for a timestamp or time value of type t
// finer than a microsecond, the canonical texts of the microseconds it
// lies between (24:00:00 the later of 23:59:59.999999 and the end of the
// day); finer is false for any other value. No store holds such a value:
// PostgreSQL rounds it when it casts it, so it names no document and
// equals no stored value. canonical is Parse's text of the value, raw the
// value as written: a time's canonical text is already rounded to
// microseconds.
func MicrosecondsAround(t config.Type, canonical, raw string) (floor, ceil string, finer bool) {
	switch t.Name {
	case "timestamp", "timestamptz":
		ts, err := time.Parse(time.RFC3339Nano, canonical)
		if err != nil || ts.Nanosecond()%1000 == 0 {
			return "", "", false
		}
		lo := ts.Truncate(time.Microsecond).UTC()
		return lo.Format(time.RFC3339Nano), lo.Add(time.Microsecond).Format(time.RFC3339Nano), true
	case "time":
		d, ok := ParseTimeOfDay(raw)
		if !ok || d%time.Microsecond == 0 {
			return "", "", false
		}
		lo := d.Truncate(time.Microsecond)
		return FormatTimeOfDay(lo), FormatTimeOfDay(lo + time.Microsecond), true
	}
	return "", "", false
}
