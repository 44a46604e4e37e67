package projector

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// jsonbText is the text PostgreSQL's jsonb gives for the JSON text b (what
// ->> returns for an array or object): object keys ordered by length, then
// bytes; ", " and ": " between members; numbers as numeric text; strings
// escaped only where JSON must be. The state stores a row's values as
// jsonb, so a join or group key over an array or object compares this
// text, never the encoder's.
func jsonbText(b []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	var out strings.Builder
	writeJSONB(&out, v)
	return out.String(), nil
}

func writeJSONB(out *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		out.WriteString("null")
	case bool:
		fmt.Fprint(out, x)
	case json.Number:
		out.WriteString(jsonbNumber(x).String())
	case string:
		writeJSONBString(out, x)
	case []any:
		out.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				out.WriteString(", ")
			}
			writeJSONB(out, e)
		}
		out.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b string) int {
			if len(a) != len(b) {
				return len(a) - len(b)
			}
			return strings.Compare(a, b)
		})
		out.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				out.WriteString(", ")
			}
			writeJSONBString(out, k)
			out.WriteString(": ")
			writeJSONB(out, x[k])
		}
		out.WriteByte('}')
	}
}

// writeJSONBString quotes s as PostgreSQL's escape_json does.
func writeJSONBString(out *strings.Builder, s string) {
	out.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			out.WriteString(`\"`)
		case '\\':
			out.WriteString(`\\`)
		case '\b':
			out.WriteString(`\b`)
		case '\f':
			out.WriteString(`\f`)
		case '\n':
			out.WriteString(`\n`)
		case '\r':
			out.WriteString(`\r`)
		case '\t':
			out.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(out, `\u%04x`, r)
			} else {
				out.WriteRune(r)
			}
		}
	}
	out.WriteByte('"')
}

// maxJSONBExponent bounds the exponents jsonbNumber writes out: beyond
// PostgreSQL's numeric range (131072 digits before the point, 16383
// after) its state would refuse the row anyway.
const maxJSONBExponent = 131072 + 16383

// jsonbNumber is a JSON number as PostgreSQL's jsonb gives it back:
// numeric text, in plain digits with the scale the literal had (1e2 is
// 100, 1.50 stays 1.50, -0.0 is 0.0, 1E-7 is 0.0000001), at any exponent
// numeric takes.
func jsonbNumber(n json.Number) json.Number {
	s := n.String()
	if !strings.ContainsAny(s, "eE.-") {
		return n // an integer, as jsonb writes it
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > maxJSONBExponent || e < -maxJSONBExponent {
			return n
		}
		mant, exp = s[:i], e
	}
	whole, frac, _ := strings.Cut(mant, ".")
	digits := whole + frac
	point := len(whole) + exp // where the point goes in digits
	var out string
	switch {
	case point >= len(digits):
		out = digits + strings.Repeat("0", point-len(digits))
	case point <= 0:
		out = "0." + strings.Repeat("0", -point) + digits
	default:
		out = digits[:point] + "." + digits[point:]
	}
	intPart, fracPart, hasFrac := strings.Cut(out, ".")
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		intPart = "0"
	}
	out = intPart
	if hasFrac {
		out += "." + fracPart
	}
	if neg && strings.Trim(out, "0.") != "" {
		out = "-" + out // numeric has no negative zero
	}
	return json.Number(out)
}
