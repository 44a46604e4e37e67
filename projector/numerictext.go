package projector

import (
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// PostgreSQL's numeric holds at most numericMaxWhole digits before the
// point (a weight of 32767 in base 10,000) and numericMaxScale after it
// (NUMERIC_DSCALE_MAX); numeric_in refuses an exponent of
// numericMaxExponent or more either way, even of a zero.
const (
	numericMaxWhole    = 131072
	numericMaxScale    = 16383
	numericMaxExponent = math.MaxInt32 / 2
)

// numericSpecial is s, trimmed, as numeric_in reads a NaN or an infinity
// (any case, "inf" for "Infinity", a sign before an infinity), in the
// spelling PostgreSQL gives it back.
func numericSpecial(s string) (string, bool) {
	for _, sp := range []struct{ in, out string }{
		{"NaN", "NaN"},
		{"Infinity", "Infinity"}, {"+Infinity", "Infinity"}, {"inf", "Infinity"}, {"+inf", "Infinity"},
		{"-Infinity", "-Infinity"}, {"-inf", "-Infinity"},
	} {
		if strings.EqualFold(s, sp.in) {
			return sp.out, true
		}
	}
	return "", false
}

// numericInput is s, trimmed, read as PostgreSQL's numeric_in reads a
// number: a sign, digits with at most one point (".5", "5."), an exponent
// ("1e2", "1E+2", "1e 2": strtol skips white space before it), at the
// scale it is written with less its exponent ("1.50e1" is 15.0, "1e2"
// 100); false for what numeric_in refuses, a value beyond its range
// included. The check comes before the digits are built: "1e999999" is no
// million-digit string.
func numericInput(s string) (decimal.Decimal, bool) {
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg, s = s[0] == '-', s[1:]
	}
	mantissa := len(s) - len(strings.TrimLeft(s, "0123456789."))
	digits, rest := s[:mantissa], s[mantissa:]
	whole, frac, _ := strings.Cut(digits, ".")
	if whole == "" && frac == "" || strings.Contains(frac, ".") {
		return decimal.Decimal{}, false // no digit ("." alone), or two points
	}
	exp, ok := numericExponent(rest)
	if !ok {
		return decimal.Decimal{}, false
	}
	scale := max(int64(len(frac))-exp, 0)
	coef := strings.TrimLeft(whole+frac, "0")
	if scale > numericMaxScale || coef != "" && int64(len(coef))-int64(len(frac))+exp > numericMaxWhole {
		return decimal.Decimal{}, false // PostgreSQL: value overflows numeric format
	}
	if coef == "" {
		return decimal.New(0, int32(-scale)), true // a zero keeps its scale: "0.00"
	}
	n, _ := new(big.Int).SetString(coef, 10)
	if neg {
		n.Neg(n)
	}
	return decimal.NewFromBigInt(n, int32(exp-int64(len(frac)))), true
}

// numericExponent is the exponent after a numeric's digits: none (0), or
// 'e' or 'E' and an integer as C's strtol reads one (white space, a sign,
// digits), below numericMaxExponent either way.
func numericExponent(s string) (int64, bool) {
	if s == "" {
		return 0, true
	}
	if s[0] != 'e' && s[0] != 'E' {
		return 0, false
	}
	s = strings.TrimLeft(s[1:], pgSpace)
	sign := ""
	if s != "" && (s[0] == '+' || s[0] == '-') {
		sign, s = s[:1], s[1:]
	}
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	if s = strings.TrimLeft(s, "0"); len(s) > 10 {
		return 0, false // beyond any exponent numeric_in takes
	}
	exp, err := strconv.ParseInt(sign+"0"+s, 10, 64)
	if err != nil || exp >= numericMaxExponent || exp <= -numericMaxExponent {
		return 0, false
	}
	return exp, true
}
