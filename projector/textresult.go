package projector

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/projections"
)

// pgSpace is the white space PostgreSQL's input functions skip around a
// number (C's isspace): not Unicode's, so "12\u00a0" is no integer.
const pgSpace = " \t\n\r\v\f"

// textResult is a string as a column of type t holds it: a timestamp or
// date read as the decoder reads one (a timestamp's date in UTC, as for a
// time result), a uuid in canonical form, a number as its column gives it
// back (numberText), bytes in standard base64 (byteaText).
func textResult(t config.Type, s string) (any, bool) {
	if t.Array {
		// No array column holds a string alone (PostgreSQL would read
		// "{a,b}" as an array literal; Redis and Elasticsearch would keep
		// the string): the same null in every store.
		return nil, false
	}
	switch t.Name {
	case "varchar":
		return varcharResult(t, s)
	case "smallint", "integer", "bigint", "numeric", "real", "double precision":
		return numberText(t, s)
	case "bytea":
		b, ok := byteaText(s)
		return b, ok
	case "boolean":
		switch strings.ToLower(strings.TrimSpace(s)) { // what PostgreSQL's boolean reads
		case "true", "t", "yes", "y", "on", "1":
			return true, true
		case "false", "f", "no", "n", "off", "0":
			return false, true
		}
		return nil, false
	case "timestamp", "timestamptz":
		if s == "infinity" || s == "-infinity" {
			return s, true // as the decoder passes PostgreSQL's
		}
		ts, ok := debezium.ParseTimestamp(s)
		if !ok {
			d, isDate := debezium.ParseDate(s) // midnight UTC, as PostgreSQL reads it in a UTC session
			ts, ok = d.Time(), isDate
		}
		if !ok {
			return nil, false
		}
		return timeResult(t, ts)
	case "date":
		if d, ok := debezium.ParseDate(s); ok {
			return d.String(), true
		}
		ts, ok := debezium.ParseTimestamp(s)
		if !ok {
			return nil, false
		}
		return timeResult(t, ts)
	case "uuid":
		u, ok := debezium.CanonicalUUID(s)
		return u, ok
	case "time":
		if s == "24:00" || strings.HasPrefix(s, "24:00:00") && strings.Trim(strings.TrimPrefix(s, "24:00:00"), ".0") == "" {
			return "24:00:00", true // PostgreSQL's end of a day
		}
		for _, layout := range []string{"15:04:05.999999999", "15:04"} {
			if ts, err := time.Parse(layout, s); err == nil {
				return timeResult(t, ts)
			}
		}
		return nil, false
	}
	return s, true
}

// varcharResult is s as a varchar(n) column takes it: at most n
// characters, or more whose excess is spaces, which PostgreSQL cuts.
func varcharResult(t config.Type, s string) (any, bool) {
	if t.Precision <= 0 || utf8.RuneCountInString(s) <= t.Precision {
		return s, true
	}
	end, runes := 0, 0
	for i := range s { // i: where each character starts
		if runes == t.Precision {
			end = i
			break
		}
		runes++
	}
	if strings.Trim(s[end:], " ") != "" {
		return nil, false
	}
	return s[:end], true
}

// numberText is text a number column takes: read as the column reads it
// (PostgreSQL casts it, white space around it skipped) and written as the
// column gives it back, or refused. A numeric is its decimal text at the
// scale it was written with (" 12.50" is "12.50", "1e2" "100", ".5"
// "0.5"), or at its declared scale; its NaN and infinities in their
// canonical spelling ("nan" is "NaN", "-inf" "-Infinity").
func numberText(t config.Type, s string) (any, bool) {
	s = strings.Trim(s, pgSpace)
	switch {
	case isInteger(t):
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, false
		}
		return integerResult(t, n, n)
	case t.Name == "real" || t.Name == "double precision":
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, false
		}
		return floatResult(t, f)
	}
	if special, ok := numericSpecial(s); ok {
		_, scaled := declaredScale(t)
		return special, !scaled || special == "NaN" // numeric(p,s) holds NaN, no infinity
	}
	d, ok := numericInput(s)
	if !ok {
		return nil, false
	}
	if scale, ok := declaredScale(t); ok {
		return numericResult(t, d, scale)
	}
	return projections.DecimalText(d), true // as every other numeric result (decimalResult)
}
