package projector

import (
	"encoding/json"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/projections"
)

// exprResult turns an expression's result into the value of a field of
// type t, written as a column of that type is, so that every store holds
// what the PostgreSQL column does: a date as YYYY-MM-DD, a time as
// HH:MM:SS[.ffffff], a timestamp as RFC 3339 in UTC, each rounded to its
// precision as PostgreSQL rounds it (microseconds when none is declared);
// text read as a timestamp or date by the decoder's parsers; a uuid in
// canonical form; a real rounded to a float32; a numeric(p,s) as its
// decimal text with s decimals (rounded half away from zero), a numeric
// as its decimal text; bytes in standard base64. Strings,
// inside json results too, have NUL and invalid UTF-8 replaced by U+FFFD
// and floats no -0, as the decoder gives source values; groupBy's groups
// are an object keyed by each key's text (jsonValue). It reports false
// for a result the type cannot hold, as PostgreSQL would refuse it: a
// float that is not finite or beyond a real, an integer out of the type's
// range, a numeric(p,s) with more than p digits, a date or timestamp
// outside the years 1..9999 or text that is none, text that is no uuid,
// no number in a number field, no base64 in a bytea (byteaText).
func exprResult(t config.Type, v any) (any, bool) {
	switch r := v.(type) {
	case time.Time:
		return timeResult(t, r)
	case string:
		return textResult(t, debezium.ValidString(r))
	case float64:
		if math.IsInf(r, 0) || math.IsNaN(r) {
			return nil, false
		}
		if !takesNumber(t) {
			return numberAsText(t, strconv.FormatFloat(r+0, 'f', -1, 64)) // +0: not -0
		}
		if isInteger(t) {
			return wholeResult(t, r) // a float from a column of no declared type
		}
		if s, ok := declaredScale(t); ok {
			return numericResult(t, decimal.NewFromFloat(r), s)
		}
		return floatResult(t, r)
	case decimal.Decimal:
		return decimalResult(t, r)
	case json.Number:
		// A number's digits (none reaches here from an expression now: a
		// safety net for any that would, so that the field's type holds).
		d, err := decimal.NewFromString(string(r))
		if err != nil {
			return nil, false
		}
		return decimalResult(t, d)
	case int:
		return integerResult(t, v, int64(r))
	case int64:
		return integerResult(t, v, r)
	case bool:
		switch {
		case t.Array:
			return nil, false // PostgreSQL: expected JSON array
		case t.Name == "text" || t.Name == "varchar":
			return textResult(t, strconv.FormatBool(r)) // as PostgreSQL casts it
		case t.Name != "boolean" && t.Name != "json" && t.Name != "jsonb" && t.Name != "":
			return nil, false // no number, time or uuid column holds it
		}
		return v, true
	case map[string]any, []any, []string:
		return compositeResult(t, v)
	}
	switch rv := reflect.ValueOf(v); {
	case rv.Kind() == reflect.Map:
		return compositeResult(t, v) // groupBy's groups, keyed by anything
	case rv.CanInt():
		// An integer of a named type (b - a, a time.Duration) is checked
		// against the field's range as any other.
		n := rv.Int()
		return integerResult(t, n, n)
	case rv.CanUint():
		if u := rv.Uint(); u <= math.MaxInt64 {
			n := int64(u)
			return integerResult(t, n, n)
		}
		return decimalResult(t, decimal.NewFromUint64(rv.Uint()))
	}
	return v, true
}

// compositeResult is an object or array result as a column of type t
// holds it: json and jsonb as JSON, text as its JSON text, an array type
// item by item (arrayResult); no scalar column holds one.
func compositeResult(t config.Type, v any) (any, bool) {
	v, _, ok := jsonValue(v)
	if !ok {
		return nil, false
	}
	if t.Array {
		return arrayResult(t, v)
	}
	c, _ := cleanValue(v)
	switch t.Name {
	case "json", "jsonb", "":
		return c, true
	case "text", "varchar":
		// Its JSON text, as jsonb_to_recordset gives a text column.
		if s, ok := jsonText(c); ok {
			return textResult(t, s)
		}
	}
	return nil, false // no scalar column holds an object or array
}

// decimalResult is a numeric an expression computed (exactly) as a column
// of type t holds it: a numeric(p,s) rounded to s decimals half away from
// zero, an integer only when whole, a float the nearest, text its digits
// with its scale (1.50), as PostgreSQL casts a numeric.
func decimalResult(t config.Type, d decimal.Decimal) (any, bool) {
	digits := projections.DecimalText(d)
	switch {
	case !takesNumber(t):
		return numberAsText(t, digits)
	case isInteger(t):
		if !d.Equal(d.Truncate(0)) || !d.BigInt().IsInt64() {
			return nil, false
		}
		n := d.IntPart()
		return integerResult(t, n, n)
	case t.Name == "real" || t.Name == "double precision":
		// Rounded once, from the digits, as PostgreSQL casts a numeric:
		// through a float64 first, 1.000000059604644775390625000001 would
		// land halfway between two reals and go to the even one.
		bits := 64
		if t.Name == "real" {
			bits = 32
		}
		f, err := strconv.ParseFloat(digits, bits)
		if err != nil || f == 0 && !d.IsZero() {
			return nil, false // beyond the type's range, or below it
		}
		return floatResult(t, f)
	}
	if s, ok := declaredScale(t); ok {
		return numericResult(t, d, s)
	}
	if t.Name == "numeric" {
		return digits, true // its text, as a numeric column's value is (numberText)
	}
	return json.Number(digits), true
}

// takesNumber reports whether a column of type t holds a number result as
// a number: a number column, json, jsonb, or a field of no declared type.
func takesNumber(t config.Type) bool {
	if t.Array {
		return false
	}
	switch t.Name {
	case "smallint", "integer", "bigint", "numeric", "real", "double precision", "json", "jsonb", "":
		return true
	}
	return false
}

// numberAsText is a number result in a column of another type t: text
// takes its digits; a boolean 1 and 0 (as PostgreSQL's jsonb_to_recordset
// gives the column the number's text); a timestamp, date, time or uuid
// nothing (PostgreSQL would read 20240101 as a date: digits are no time
// here, the same null in every store); an array type no scalar.
func numberAsText(t config.Type, digits string) (any, bool) {
	if t.Array {
		return nil, false
	}
	return textResult(t, digits)
}

// wholeResult is a float as an integer column of type t holds it: only
// whole and in range.
func wholeResult(t config.Type, f float64) (any, bool) {
	if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return nil, false
	}
	n := int64(f)
	return integerResult(t, n, n)
}

func isInteger(t config.Type) bool {
	return !t.Array && (t.Name == "smallint" || t.Name == "integer" || t.Name == "bigint")
}

// jsonValue is v, a json or array result, as JSON holds it: every map of
// keys other than text (groupBy's groups, a map[any][]any no store can
// encode) an object keyed by each key's text, as JSON writes one;
// changed says whether it differs from v, which is then copied, not
// changed, since v may share maps with the row. It reports false where no
// JSON holds v: a float that is not finite at any depth (x / 0 inside, as
// alone), a key of no text (null), two keys of one text (1 and "1").
func jsonValue(v any) (out any, changed, ok bool) {
	switch x := v.(type) {
	case float64:
		return v, false, !math.IsInf(x, 0) && !math.IsNaN(x)
	case string, []string, nil:
		return v, false, true
	case []any:
		var c []any
		for i, e := range x {
			ce, ch, ok := jsonValue(e)
			if !ok {
				return nil, false, false
			}
			if ch && c == nil {
				c = slices.Clone(x)
			}
			if ch {
				c[i] = ce
			}
		}
		if c != nil {
			return c, true, true
		}
	case map[string]any:
		var c map[string]any
		for k, e := range x {
			ce, ch, ok := jsonValue(e)
			if !ok {
				return nil, false, false
			}
			if ch && c == nil {
				c = maps.Clone(x)
			}
			if ch {
				c[k] = ce
			}
		}
		if c != nil {
			return c, true, true
		}
	default:
		if m := reflect.ValueOf(v); m.Kind() == reflect.Map {
			o, ok := textKeyed(m)
			return o, true, ok
		}
	}
	return v, false, true
}

// textKeyed is m, a map whose keys are not (all) text, as an object keyed
// by each key's text (projections.KeyText); false when a key has none or
// shares another's, which would lose a group.
func textKeyed(m reflect.Value) (map[string]any, bool) {
	out := make(map[string]any, m.Len())
	for it := m.MapRange(); it.Next(); {
		k, ok := projections.KeyText(it.Key().Interface())
		if _, taken := out[k]; !ok || taken {
			return nil, false
		}
		e, _, ok := jsonValue(it.Value().Interface())
		if !ok {
			return nil, false
		}
		out[k] = e
	}
	return out, true
}

func integerResult(t config.Type, v any, n int64) (any, bool) {
	if t.Array {
		return nil, false // PostgreSQL: malformed array literal
	}
	if !takesNumber(t) {
		return numberAsText(t, strconv.FormatInt(n, 10))
	}
	switch t.Name {
	case "text", "varchar":
		return textResult(t, strconv.FormatInt(n, 10)) // as PostgreSQL casts it
	case "smallint":
		return v, n >= math.MinInt16 && n <= math.MaxInt16
	case "integer":
		return v, n >= math.MinInt32 && n <= math.MaxInt32
	case "real", "double precision":
		// As the column holds it: a float8 above 2^53 is not every integer.
		return floatResult(t, float64(n))
	}
	if s, ok := declaredScale(t); ok {
		return numericResult(t, decimal.NewFromInt(n), s)
	}
	return v, true
}

// floatResult is a finite float as a column of type t holds it: a real
// holds a float32 (debezium.RoundReal), and no column holds -0 (the sinks
// write PostgreSQL through jsonb, whose numbers have no negative zero).
func floatResult(t config.Type, f float64) (any, bool) {
	if t.Name == "real" && !t.Array {
		r, ok := debezium.RoundReal(f)
		if !ok {
			return nil, false
		}
		f = r
	}
	if f == 0 {
		f = 0 // not -0
	}
	// In plain digits, as PostgreSQL gives a float read back from the
	// view table and as the state's jsonb gives a source column's float:
	// encoding/json would write 1e+21 and 1e-7.
	digits := strconv.FormatFloat(f, 'f', -1, 64)
	if !t.Array && (t.Name == "text" || t.Name == "varchar") {
		return textResult(t, digits)
	}
	return json.Number(digits), true
}

// declaredScale is the scale of a numeric(p,s), or of a numeric(p) (0).
func declaredScale(t config.Type) (int32, bool) {
	if t.Name != "numeric" || t.Array || t.Precision < 0 {
		return 0, false
	}
	return int32(max(t.Scale, 0)), true
}

func numericResult(t config.Type, d decimal.Decimal, scale int32) (any, bool) {
	d = d.Round(scale) // the coefficient now counts the digits kept
	if d.NumDigits() > t.Precision {
		return nil, false // PostgreSQL: numeric field overflow
	}
	return d.StringFixed(scale), true
}

// arrayResult is an array result as a column of type t, an array type,
// holds it: each element as exprResult gives one of the element type, a
// null as null. It reports false when the column would refuse an element:
// PostgreSQL refuses the whole document for one.
func arrayResult(t config.Type, v any) (any, bool) {
	elem := t
	elem.Array = false
	var items []any
	switch x := v.(type) {
	case []any:
		items = x
	case []string:
		items = make([]any, len(x))
		for i, s := range x {
			items[i] = s
		}
	default:
		return nil, false // an object is no array
	}
	out := make([]any, len(items))
	for i, e := range items {
		switch e.(type) {
		case nil:
			continue
		case map[string]any, []any, []string:
			if elem.Name != "json" && elem.Name != "jsonb" {
				return nil, false // only json elements nest
			}
		}
		r, ok := exprResult(elem, e)
		if !ok {
			return nil, false
		}
		out[i] = r
	}
	return out, true
}

func timeResult(t config.Type, ts time.Time) (any, bool) {
	if t.Array {
		return nil, false // no array column holds a single time
	}
	date := ts
	ts = ts.UTC()
	switch t.Name {
	case "time":
		clock := time.Duration(ts.Hour())*time.Hour + time.Duration(ts.Minute())*time.Minute +
			time.Duration(ts.Second())*time.Second + time.Duration(ts.Nanosecond())
		return debezium.TimeOfDay(clock).Round(t.Precision).String(), true
	case "date":
		if y := ts.Year(); y < 1 || y > 9999 {
			return nil, false
		}
		return debezium.Date{Year: ts.Year(), Month: ts.Month(), Day: ts.Day()}.String(), true
	case "timestamp", "timestamptz":
		ts = debezium.RoundTimestamp(ts, t.Precision)
		if y := ts.Year(); y < 1 || y > 9999 {
			return nil, false
		}
		return ts.Format(time.RFC3339Nano), true
	}
	text := projections.TimeText(date) // a date as a date
	switch t.Name {
	case "text", "json", "jsonb", "":
		return text, true
	}
	return textResult(t, text) // as another column reads that text: no varchar(n) longer, no bytea
}

// cleanValue is v, a json result, with its strings (keys included) and
// floats as exprResult gives a scalar's; changed says
// whether it differs from v, which is then copied, not changed, since v
// may share maps with the row.
func cleanValue(v any) (out any, changed bool) {
	switch x := v.(type) {
	case string:
		s := debezium.ValidString(x)
		return s, s != x
	case float64:
		// As floatResult writes a scalar's: no -0, and plain digits (as
		// PostgreSQL's jsonb gives them back), not 1e+21 or 1e-7.
		return json.Number(strconv.FormatFloat(x+0, 'f', -1, 64)), true
	case decimal.Decimal:
		return json.Number(projections.DecimalText(x)), true
	case time.Time:
		// As a scalar of no type is written: a date as a date, another
		// time in UTC (Go's JSON would keep the source's offset).
		return projections.TimeText(x), true
	case []string:
		var c []string
		for i, e := range x {
			if ce := debezium.ValidString(e); ce != e || c != nil {
				if c == nil {
					c = append(make([]string, 0, len(x)), x[:i]...)
				}
				c = append(c, ce)
			}
		}
		if c != nil {
			return c, true
		}
	case []any:
		var c []any
		for i, e := range x {
			ce, ch := cleanValue(e)
			if ch && c == nil {
				c = append(make([]any, 0, len(x)), x[:i]...)
			}
			if c != nil {
				c = append(c, ce)
			}
		}
		if c != nil {
			return c, true
		}
	case map[string]any:
		var c map[string]any
		for k, e := range x {
			ck := debezium.ValidString(k)
			ce, ch := cleanValue(e)
			if (ch || ck != k) && c == nil {
				c = make(map[string]any, len(x))
				for k2, e2 := range x {
					c[k2] = e2
				}
			}
			if c != nil {
				delete(c, k)
				c[ck] = ce
			}
		}
		if c != nil {
			return c, true
		}
	}
	return v, false
}
