package debezium

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// jsonText gives the text of a Json column as a value, with the escapes
// PostgreSQL's jsonb refuses replaced by U+FFFD: \u0000 (a string there
// cannot hold NUL) and a surrogate escape without its other half. Strings
// of other columns get the same replacement when they are decoded; a Json
// column's text is kept as it came, so it needs its own pass, or its row
// would be refused by the state on every retry.
//
// A number jsonb cannot hold (see numericFits) is an error: PostgreSQL
// refuses the whole row, and a json column may hold it all the same.
func jsonText(b []byte) (json.RawMessage, error) {
	if lit := hugeNumber(b); lit != nil {
		if len(lit) > 40 {
			lit = append(lit[:37:37], "..."...)
		}
		return nil, bad("Json column holds the number %s, beyond PostgreSQL's numeric (131072 digits before the point, 16383 after)", lit)
	}
	if !bytes.Contains(b, []byte(`\u`)) && !bytes.Contains(b, []byte(`\U`)) {
		return json.RawMessage(bytes.Clone(b)), nil
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			out = append(out, b[i])
			continue
		}
		if b[i+1] != 'u' || i+6 > len(b) {
			out = append(out, b[i], b[i+1]) // another escape, \\ included
			i++
			continue
		}
		r, err := strconv.ParseUint(string(b[i+2:i+6]), 16, 32)
		switch {
		case err != nil:
			out = append(out, b[i:i+6]...)
		case r == 0, r >= 0xDC00 && r <= 0xDFFF:
			out = append(out, `\ufffd`...)
		case r >= 0xD800 && r <= 0xDBFF:
			if lowSurrogateAt(b, i+6) {
				out = append(out, b[i:i+12]...)
				i += 6
			} else {
				out = append(out, `\ufffd`...)
			}
		default:
			out = append(out, b[i:i+6]...)
		}
		i += 5
	}
	return out, nil
}

// hugeNumber returns the first number of the JSON text b that
// PostgreSQL's numeric cannot hold, or nil.
func hugeNumber(b []byte) []byte {
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case c == '-' || c >= '0' && c <= '9':
			j := i + 1
			for j < len(b) && strings.IndexByte("0123456789.eE+-", b[j]) >= 0 {
				j++
			}
			if !numericFits(b[i:j]) {
				return b[i:j]
			}
			i = j - 1
		}
	}
	return nil
}

// numericFits reports whether a JSON number literal fits PostgreSQL's
// numeric, which jsonb numbers are (numeric.c): an exponent within
// ±INT_MAX/2 (exclusive), at most 16383 digits after the point once the exponent is
// applied (NUMERIC_DSCALE_MAX, zero included), and a most significant
// digit below 10^131072 (NUMERIC_WEIGHT_MAX base-10000 digits).
func numericFits(lit []byte) bool {
	const maxScale, maxWeightDigits, maxExp = 16383, 131072, math.MaxInt32 / 2
	mant, expText, _ := bytes.Cut(bytes.TrimPrefix(lit, []byte("-")), []byte("e"))
	if len(expText) == 0 && bytes.IndexByte(mant, 'E') >= 0 {
		mant, expText, _ = bytes.Cut(mant, []byte("E"))
	}
	intPart, frac, _ := bytes.Cut(mant, []byte("."))
	exp := int64(0)
	if len(expText) > 0 {
		digits := bytes.TrimLeft(expText, "+-")
		if len(bytes.TrimLeft(digits, "0")) > 10 {
			return false
		}
		n, err := strconv.ParseInt(string(digits), 10, 64)
		if err != nil || n >= maxExp {
			return false
		}
		if expText[0] == '-' {
			n = -n
		}
		exp = n
	}
	if int64(len(frac))-exp > maxScale {
		return false
	}
	digits := append(bytes.Clone(intPart), frac...)
	first := bytes.IndexFunc(digits, func(r rune) bool { return r != '0' })
	if first < 0 {
		return true // zero: only its scale counts
	}
	// The exponent of the most significant digit.
	msd := int64(len(intPart)-1-first) + exp
	return msd < maxWeightDigits
}

// lowSurrogateAt says whether b holds a \uDC00–\uDFFF escape at i.
func lowSurrogateAt(b []byte, i int) bool {
	if i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' {
		return false
	}
	r, err := strconv.ParseUint(string(b[i+2:i+6]), 16, 32)
	return err == nil && r >= 0xDC00 && r <= 0xDFFF
}
