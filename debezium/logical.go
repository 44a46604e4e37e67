package debezium

import (
	"bytes"
	"encoding/base64"
	"math"
	"math/big"
	"strconv"
	"time"

	"github.com/shopspring/decimal"
)

// maxScale bounds a decimal's scale and exponent: far beyond any database
// type, small enough that formatting the value stays cheap.
const maxScale = 1000

// maxDecimalDigits bounds the digits of one decimal: PostgreSQL's numeric
// holds at most 131072 digits before the point and 16383 after. Converting
// between binary and decimal is quadratic, so hostile input must not reach
// it with megabytes of digits.
const (
	maxDecimalDigits = 147456
	maxDecimalBytes  = maxDecimalDigits*10/24 + 1 // log2(10)/8 ≈ 0.415 bytes per digit
)

// intFromLiteral reads an integer exactly; an integral literal such as 1.0
// or 1e3 in an integer field is accepted as the integer it denotes.
func intFromLiteral(lit []byte, isInt bool) (any, error) {
	if isInt {
		if v, ok := parseInt(lit); ok {
			return v, nil
		}
		return nil, bad("integer %s is out of int64 range", lit)
	}
	if e := exponentOf(lit); e > maxScale || e < -maxScale {
		return nil, bad("integer %s is out of int64 range", lit)
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil || math.Abs(f) > math.MaxInt64 {
		return nil, bad("integer %s is out of int64 range", lit)
	}
	v, err := decimal.NewFromString(string(lit))
	if err != nil || !v.IsInteger() {
		return nil, bad("expected an integer, found %s", lit)
	}
	if !v.BigInt().IsInt64() {
		return nil, bad("integer %s is out of int64 range", lit)
	}
	return v.IntPart(), nil
}

// floatLiteral reads a float as its column holds it: a real (c.bits 32)
// rounds the literal to a float32 as PostgreSQL's float4in does, and
// refuses it beyond a real's range, an underflow to 0 included.
func (c *codec) floatLiteral(lit []byte) (any, error) {
	if c.bits != 32 {
		return floatFromLiteral(lit)
	}
	f, err := strconv.ParseFloat(string(lit), 32)
	if err != nil || f == 0 && !zeroLiteral(lit) {
		return nil, bad("number %s is out of range for real", lit)
	}
	return shortReal(float32(f)), nil
}

// floatFromLiteral reads a float64, never -0, which PostgreSQL reads as 0
// through the sinks' jsonb.
func floatFromLiteral(lit []byte) (any, error) {
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil {
		return nil, bad("number %s is out of float64 range", lit)
	}
	if f == 0 {
		return 0.0, nil // not -0
	}
	return f, nil
}

// zeroLiteral reports whether a number literal's digits are all zeros.
func zeroLiteral(lit []byte) bool {
	for _, c := range lit {
		switch {
		case c == 'e' || c == 'E':
			return true
		case c >= '1' && c <= '9':
			return false
		}
	}
	return true
}

// fitFloat gives a float its column's width, as floatFromLiteral does a
// literal: a real holds a float32, and no column holds -0.
func (c *codec) fitFloat(f float64) (any, error) {
	if c.bits == 32 {
		r, ok := RoundReal(f)
		if !ok {
			return nil, bad("number %v is out of range for real", f)
		}
		return r, nil
	}
	if f == 0 {
		return 0.0, nil
	}
	return f, nil
}

// nonFinite keeps Jackson's quoted "NaN", "Infinity" and "-Infinity" as
// strings: a float64 NaN or infinity cannot be written as JSON.
func nonFinite(b []byte) (any, error) {
	switch string(b) {
	case "NaN", "Infinity", "-Infinity":
		return string(b), nil
	}
	return nil, bad("expected a number, found string %s", brief(b))
}

// decodeBase64 reads binary.handling.mode=base64 and, told apart by its
// alphabet ('-' and '_' for '+' and '/'), base64-url-safe, padded or not.
func decodeBase64(b []byte) ([]byte, error) {
	url, raw := bytes.ContainsAny(b, "-_"), len(b)%4 != 0
	enc := base64.StdEncoding
	switch {
	case url && raw:
		enc = base64.RawURLEncoding
	case url:
		enc = base64.URLEncoding
	case raw:
		enc = base64.RawStdEncoding
	}
	out := make([]byte, enc.DecodedLen(len(b)))
	n, err := enc.Decode(out, b)
	if err != nil {
		return nil, bad("invalid base64: %v", err)
	}
	return out[:n], nil
}

// unscaledDecimal is unscaled with the size and scale checked.
func unscaledDecimal(b []byte, scale int64) (decimal.Decimal, error) {
	if len(b) > maxDecimalBytes {
		return decimal.Decimal{}, bad("decimal of %d bytes is too long", len(b))
	}
	if err := checkScale(scale); err != nil {
		return decimal.Decimal{}, err
	}
	return unscaled(b, int32(scale)), nil
}

// unscaled reads a big-endian two's-complement integer (Java's
// BigInteger.toByteArray) as a decimal with the given scale.
func unscaled(b []byte, scale int32) decimal.Decimal {
	if len(b) == 0 {
		return decimal.New(0, -scale)
	}
	if len(b) <= 8 {
		v := int64(int8(b[0]))
		for _, c := range b[1:] {
			v = v<<8 | int64(c)
		}
		return decimal.New(v, -scale)
	}
	bi := new(big.Int).SetBytes(b)
	if b[0]&0x80 != 0 {
		bi.Sub(bi, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return decimal.NewFromBigInt(bi, -scale)
}

// decimalLiteral parses decimal text ("39.98", "-1e3"); ok is false when the
// text is not a plain decimal number.
func decimalLiteral(b []byte) (decimal.Decimal, bool) {
	return decimalLiteralLimit(b, maxScale)
}

// decimalLiteralLimit is decimalLiteral with a bound on the exponent.
func decimalLiteralLimit(b []byte, limit int) (decimal.Decimal, bool) {
	s := scanner{data: b}
	lit, _, err := s.number()
	if err != nil || s.pos != len(b) || len(lit) == 0 || len(lit) > maxDecimalDigits+32 {
		return decimal.Decimal{}, false
	}
	if e := exponentOf(lit); e > limit || e < -limit {
		return decimal.Decimal{}, false
	}
	v, err := decimal.NewFromString(string(lit))
	if err != nil {
		return decimal.Decimal{}, false
	}
	return v, true
}

func exponentOf(lit []byte) int {
	for i, c := range lit {
		if c == 'e' || c == 'E' {
			n, err := strconv.Atoi(string(lit[i+1:]))
			if err != nil {
				return math.MaxInt32
			}
			return n
		}
	}
	return 0
}

func checkScale(scale int64) error {
	if scale > maxScale || scale < -maxScale {
		return bad("decimal scale %d is out of range", scale)
	}
	return nil
}

// decimal reads a Decimal (base64 unscaled), a VariableScaleDecimal
// ({scale, value}), a decimal string (decimal.handling.mode=string) or a
// number (mode double).
func (d *dec) decimal(c *codec, tok byte) (any, error) {
	v, err := d.decimalValue(c, tok)
	if err != nil {
		return v, err
	}
	if c.to != nil {
		c = c.to
	}
	if c.kind == kInt {
		return declaredInt(c, v)
	}
	if !c.text || !c.scaleKnown {
		return v, nil
	}
	// A column declared numeric(p,s) holds s digits after the point, the
	// way PostgreSQL stores what it is given: a number that reached the
	// record as a double (decimal.handling.mode=double, MongoDB) or as text
	// without them gets them back, so the same value reads the same
	// whichever way it came (10.5 and "10.50" both as 10.50).
	switch dv := v.(type) {
	case decimal.Decimal:
		return declaredDecimal(c, dv)
	case string:
		return declaredNonFinite(c, dv)
	}
	return v, nil
}

func (d *dec) decimalValue(c *codec, tok byte) (any, error) {
	switch {
	case tok == '{':
		return d.varDecimal()
	case tok == '"':
		b, err := d.str()
		if err != nil {
			return nil, err
		}
		if c.kind == kVarDecimal || c.text {
			if v, ok := decimalLiteral(b); ok {
				return v, nil
			}
			if s, ok := nonFiniteDecimal(b); ok {
				// numeric(p,s) holds no infinity: there "Infinity", valid
				// base64, is a number in precise mode.
				if s != "NaN" && c.precision > 0 && c.scaleKnown {
					if raw, err := decodeBase64(b); err == nil {
						return unscaledDecimal(raw, int64(c.scale))
					}
				}
				return s, nil
			}
			if c.kind == kVarDecimal {
				return nil, bad("expected a decimal, found string %s", brief(b))
			}
		}
		if !c.scaleKnown {
			return nil, bad("decimal %s has no known scale (declare the column as numeric(p,s))", brief(b))
		}
		raw, err := decodeBase64(b)
		if err != nil {
			return nil, err
		}
		return unscaledDecimal(raw, int64(c.scale))
	case tok == '-' || (tok >= '0' && tok <= '9'):
		lit, _, err := d.s.number()
		if err != nil {
			return nil, bad("%v", err)
		}
		v, ok := decimalLiteral(lit)
		if !ok {
			return nil, bad("decimal %s is out of range", lit)
		}
		return v, nil
	}
	return nil, d.unexpected("a decimal", tok)
}

// varDecimal reads io.debezium.data.VariableScaleDecimal {scale, value}.
func (d *dec) varDecimal() (any, error) {
	d.s.pos++ // '{'
	var (
		scale    int64
		raw      []byte
		hasValue bool
	)
	for first := true; ; first = false {
		k, ok, err := d.s.nextMember(first)
		if err != nil {
			return nil, bad("%v", err)
		}
		if !ok {
			break
		}
		switch string(k) {
		case "scale":
			v, err := d.value(&codec{kind: kInt}, 1)
			if err != nil {
				return nil, prefixErr(err, "scale")
			}
			scale, _ = v.(int64)
		case "value":
			if d.s.null() {
				continue
			}
			if d.s.peek() != '"' {
				return nil, prefixErr(d.unexpected("a base64 string", d.s.peek()), "value")
			}
			b, err := d.str()
			if err != nil {
				return nil, prefixErr(err, "value")
			}
			if raw, err = decodeBase64(b); err != nil {
				return nil, prefixErr(err, "value")
			}
			hasValue = true
		default:
			if err := d.s.skip(1); err != nil {
				return nil, bad("%v", err)
			}
		}
	}
	if !hasValue {
		return nil, nil
	}
	return unscaledDecimal(raw, scale)
}

// PostgreSQL's infinite timestamps, as the JDBC driver and Debezium write
// them whatever the unit.
const (
	pgPositiveInfinity = 9223372036825200000
	pgNegativeInfinity = -9223372036832400000
)

func (d *dec) temporal(c *codec, tok byte) (any, error) {
	if tok == '"' {
		b, err := d.str()
		if err != nil {
			return nil, err
		}
		return temporalFromString(c, string(b))
	}
	if tok != '-' && (tok < '0' || tok > '9') {
		return nil, d.unexpected("a number or string", tok)
	}
	lit, isInt, err := d.s.number()
	if err != nil {
		return nil, bad("%v", err)
	}
	v, err := intFromLiteral(lit, isInt)
	if err != nil {
		return nil, err
	}
	return temporalFromInt(c, v.(int64))
}

func temporalFromInt(c *codec, n int64) (any, error) {
	if c.epochMs && (c.kind == kDate || c.kind == kTime) {
		v, err := timestampFromInt(n, int64(time.Millisecond), 0)
		t, ok := v.(time.Time)
		switch {
		case err != nil:
			return nil, err
		case !ok:
			return nil, bad("%s is not a %s", v, map[kind]string{kDate: "date", kTime: "time"}[c.kind])
		case c.kind == kDate:
			return Date{Year: t.Year(), Month: t.Month(), Day: t.Day()}, nil
		}
		midnight := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		return roundTimeOfDay(TimeOfDay(t.Sub(midnight)), c.step), nil
	}
	switch c.kind {
	case kDate:
		return dateFromDays(n)
	case kTime:
		if n < 0 || n > int64(maxTimeOfDay)/c.unit {
			return nil, bad("time of day %d is out of range", n)
		}
		return roundTimeOfDay(TimeOfDay(n*c.unit), c.step), nil
	case kTimestamp, kZonedTimestamp:
		return timestampFromInt(n, c.unit, c.step)
	case kInterval:
		return n, nil
	}
	return nil, bad("unexpected number %d", n)
}

// timestampFromInt reads n units (nanoseconds per unit) since the epoch,
// rounded to step (see codec.step).
func timestampFromInt(n, unit, step int64) (any, error) {
	switch n {
	case pgPositiveInfinity:
		return "infinity", nil
	case pgNegativeInfinity:
		return "-infinity", nil
	}
	var t time.Time
	switch unit {
	case 1e6:
		t = time.UnixMilli(n)
	case 1e3:
		t = time.UnixMicro(n)
	default:
		t = time.Unix(0, n)
	}
	t = t.UTC()
	if unit < 1e3 || step > unit {
		t = roundTimestamp(t, step)
	}
	if !inYears(t) {
		return nil, bad("timestamp %d is %s", n, unsupportedYears)
	}
	return t, nil
}

func temporalFromString(c *codec, s string) (any, error) {
	switch c.kind {
	case kDate:
		t, err := time.Parse("2006-01-02", s)
		if err != nil {
			return nil, bad("invalid date %s", brief(s))
		}
		if !inYears(t) {
			return nil, bad("date %s is %s", brief(s), unsupportedYears)
		}
		return Date{Year: t.Year(), Month: t.Month(), Day: t.Day()}, nil
	case kTime:
		v, ok := parseTimeOfDay(s)
		if !ok {
			return nil, bad("invalid time %s", brief(s))
		}
		return roundTimeOfDay(v, c.step), nil
	case kTimestamp, kZonedTimestamp:
		if s == "infinity" || s == "-infinity" {
			return s, nil
		}
		t, ok := parseTimestamp(s)
		if !ok {
			return nil, bad("invalid timestamp %s", brief(s))
		}
		if t = roundTimestamp(t, c.step); !inYears(t) {
			return nil, bad("timestamp %s is %s", brief(s), unsupportedYears)
		}
		return t, nil
	case kZonedTime:
		v, ok := normaliseZonedTime(s, c.step)
		if !ok {
			return nil, bad("invalid time with zone %s", brief(s))
		}
		return v, nil
	}
	return s, nil // kInterval: ISO-8601 duration text
}

var timestampLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999Z07",
	"2006-01-02 15:04:05.999999999Z07",
}

// parseTimestamp reads ISO-8601 with or without an offset; without one the
// time is taken as UTC (Debezium writes local timestamps that way). The
// caller checks the year (inYears).
func parseTimestamp(s string) (time.Time, bool) {
	for _, layout := range timestampLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func parseTimeOfDay(s string) (TimeOfDay, bool) {
	if len(s) >= 8 && s[:8] == "24:00:00" && trimZeros(s[8:]) {
		return maxTimeOfDay, true
	}
	t, err := time.Parse("15:04:05.999999999", s)
	if err != nil {
		return 0, false
	}
	return TimeOfDay(t.Sub(time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC))), true
}

// trimZeros reports whether s is empty or a fraction of zeros (".000").
func trimZeros(s string) bool {
	if s == "" {
		return true
	}
	if s[0] != '.' {
		return false
	}
	for _, c := range s[1:] {
		if c != '0' {
			return false
		}
	}
	return true
}

// normaliseZonedTime turns "10:15:30.5+02:00" into "08:15:30.500000Z",
// rounded to step (see codec.step).
func normaliseZonedTime(s string, step int64) (string, bool) {
	t, err := time.Parse("15:04:05.999999999Z07:00", s)
	if err != nil {
		if t, err = time.Parse("15:04:05.999999999Z07", s); err != nil {
			return "", false
		}
	}
	return roundTimeOfDay(clockOf(t.UTC()), step).String() + "Z", true
}

// canonicalUUID returns the lower-case 8-4-4-4-12 form of a UUID written
// with or without hyphens or braces.
func canonicalUUID(b []byte) (any, error) {
	s, ok := uuidString(b)
	if !ok {
		return nil, bad("invalid UUID %s", brief(b))
	}
	return s, nil
}

func uuidString(b []byte) (string, bool) {
	if len(b) == 38 && b[0] == '{' && b[37] == '}' {
		b = b[1:37]
	}
	var hex []byte
	switch len(b) {
	case 36:
		if b[8] != '-' || b[13] != '-' || b[18] != '-' || b[23] != '-' {
			return "", false
		}
		hex = make([]byte, 0, 32)
		for i, c := range b {
			if i == 8 || i == 13 || i == 18 || i == 23 {
				continue
			}
			hex = append(hex, c)
		}
	case 32:
		hex = b
	default:
		return "", false
	}
	var raw [16]byte
	for i := 0; i < 16; i++ {
		hi, ok1 := unhex(hex[2*i])
		lo, ok2 := unhex(hex[2*i+1])
		if !ok1 || !ok2 {
			return "", false
		}
		raw[i] = hi<<4 | lo
	}
	return formatUUID(raw[:]), true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// formatUUID formats 16 bytes as a canonical UUID.
func formatUUID(raw []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range raw {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
