package debezium

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// The checks here hold a value to what its column can store: a value
// PostgreSQL would refuse is malformed, so that its record goes to the
// dead-letter topic instead of failing its batch on every retry.

// fitInt checks an integer against the width of c: a smallint or integer
// column (or a schema's int16 or int32 field) holds fewer bits than int64.
func (c *codec) fitInt(v any) (any, error) {
	n, ok := v.(int64)
	if !ok || c.bits == 0 || c.bits >= 64 {
		return v, nil
	}
	limit := int64(1) << (c.bits - 1)
	if n < -limit || n >= limit {
		return nil, bad("integer %d is out of range for %s", n, intTypeName(c.bits))
	}
	return v, nil
}

func intTypeName(bits uint8) string {
	switch bits {
	case 16:
		return "smallint (16 bits)"
	case 32:
		return "integer (32 bits)"
	}
	return "an 8-bit integer"
}

// declaredInt holds a decimal or a double (a Connect Decimal,
// decimal.handling.mode=double) to the integer type c declares, as an
// integer literal is held without a schema: an integral value is that
// integer, if it fits, and any other (12.50, 3.7, NaN) is malformed:
// PostgreSQL reads "3.7" as no integer, so no store may round it.
func declaredInt(c *codec, v any) (any, error) {
	if n, ok := hintedInt(v); ok {
		return c.fitInt(n)
	}
	switch v := v.(type) {
	case nil:
		return nil, nil
	case float64:
		if v == math.Trunc(v) {
			return nil, bad("integer %v is out of int64 range", v)
		}
	case decimal.Decimal:
		if v.IsInteger() {
			return nil, bad("integer %s is out of int64 range", v)
		}
	}
	return nil, bad("expected an integer, found %v", v)
}

// declaredIntText holds decimal text (decimal.handling.mode=string's
// "12.00") to the integer type c declares, as declaredInt holds a Connect
// Decimal: any other text is no integer either.
func declaredIntText[T ~string | ~[]byte](c *codec, s T) (any, error) {
	d, ok := decimalLiteral([]byte(s))
	if !ok {
		return nil, bad("expected an integer, found string %s", brief(s))
	}
	return declaredInt(c, d)
}

// doubleText is a double as Java's Double.toString writes it, and so
// JsonConverter (Jackson) and MongoDB's relaxed Extended JSON: the
// shortest digits that read back as it, at least one after the point
// ("12.0"), and below 10^-3 or from 10^7 on in scientific notation
// ("1.0E-7"). A double read from Avro or BSON becomes the decimal that
// text is, with its scale (12.0, 0.00000010), so that a column declared
// plain numeric holds what it holds from JSON, as PostgreSQL reads it.
func doubleText(f float64) string {
	if a := math.Abs(f); a == 0 || a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	mant, exp, _ := strings.Cut(strconv.FormatFloat(f, 'e', -1, 64), "e") // "1e-07"
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	n, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(n)
}

// heldDecimal is d, read at its schema's scale, held to the column to
// declares (see declaredPrecision): an integer type or numeric(p,s).
func heldDecimal(to *codec, d decimal.Decimal) (any, error) {
	if to.kind == kInt {
		return declaredInt(to, d)
	}
	return declaredDecimal(to, d)
}

// declaredDecimal gives d the scale of a column declared numeric(p,s), the
// way PostgreSQL stores what it is given (see dec.decimal), and checks that
// it then has at most p digits: 123456.78 does not fit numeric(5,2), nor
// does 999.995, which rounds to 1000.00.
func declaredDecimal(c *codec, d decimal.Decimal) (decimal.Decimal, error) {
	if !c.text || !c.scaleKnown {
		return d, nil
	}
	d = d.Round(c.scale) // the coefficient now counts the digits kept
	if c.precision > 0 && d.NumDigits() > int(c.precision) {
		return decimal.Decimal{}, bad("decimal %s does not fit numeric(%d,%d): more than %d digits before the point",
			d, c.precision, c.scale, c.precision-c.scale)
	}
	return d, nil
}

// nonFiniteDecimal returns the spelling PostgreSQL's numeric reads of a
// NaN or an infinity written as text: Jackson's "NaN", "Infinity" and
// "-Infinity" (decimal.handling.mode=double), or Debezium's own "NAN",
// "POSITIVE_INFINITY" and "NEGATIVE_INFINITY" (mode string). It must be
// tried before base64: "NaN" and "Infinity" are valid base64 too.
func nonFiniteDecimal(b []byte) (string, bool) {
	if bytes.EqualFold(b, nanText) || string(b) == "-NaN" { // MongoDB's decimal128 has a signed NaN
		return "NaN", true
	}
	switch string(b) {
	case "Infinity", "+Infinity", "POSITIVE_INFINITY":
		return "Infinity", true
	case "-Infinity", "NEGATIVE_INFINITY":
		return "-Infinity", true
	}
	return "", false
}

var nanText = []byte("NaN")

// declaredNonFinite checks a NaN or infinity against its column:
// PostgreSQL's numeric(p,s) holds NaN but no infinity.
func declaredNonFinite(c *codec, s string) (any, error) {
	if s != "NaN" && c.precision > 0 {
		return nil, bad("%s does not fit numeric(%d,%d), which holds NaN but no infinity", s, c.precision, c.scale)
	}
	return s, nil
}

// Dates and timestamps are written as RFC 3339, which has four-digit years
// and no era: PostgreSQL reads "0000-…" and "-0100-…" as errors (it writes
// years before 1 as "… BC"), and nothing past 9999 fits. Its BC and
// far-future values are not supported: outside years 1..9999 a date or
// timestamp is malformed.
const (
	minEpochDay = -719162 // 0001-01-01, in days since 1970-01-01
	maxEpochDay = 2932896 // 9999-12-31
)

const unsupportedYears = "outside years 1..9999 (PostgreSQL's BC and far-future values are not supported)"

func inYears(t time.Time) bool {
	y := t.Year()
	return y >= 1 && y <= 9999
}

// dateFromDays reads a date as days since the epoch.
func dateFromDays(n int64) (Date, error) {
	if n < minEpochDay || n > maxEpochDay {
		return Date{}, bad("date %d days since 1970-01-01 is %s", n, unsupportedYears)
	}
	return DateFromEpochDays(n), nil
}
