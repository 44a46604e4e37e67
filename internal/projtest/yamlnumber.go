package projtest

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// jsonNumber is the text of an !!int or !!float node as a JSON number,
// exact as written: a test file is plain YAML, whose numbers (1_000, .5,
// +1, 2., 0x10, 0o17, 0b101) are not all JSON syntax. ok is false for any
// other node, and for the numbers JSON has none of (.inf, .nan).
func jsonNumber(n *yaml.Node) (num json.Number, ok bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" && n.Tag != "!!float" {
		return "", false
	}
	// Read in yaml.v3's order (its resolve): an integer in 64 bits, with
	// Go's base prefixes, 0777 being octal; else a decimal number.
	s := strings.ReplaceAll(n.Value, "_", "")
	if i, err := strconv.ParseInt(s, 0, 64); err == nil {
		return json.Number(strconv.FormatInt(i, 10)), true
	}
	if u, err := strconv.ParseUint(s, 0, 64); err == nil {
		return json.Number(strconv.FormatUint(u, 10)), true
	}
	return jsonDecimal(s)
}

// yamlDecimal is a YAML decimal number (as yaml.v3's yamlStyleFloat) in
// parts: sign, integer digits, fraction digits, exponent.
var yamlDecimal = regexp.MustCompile(`^([-+]?)([0-9]*)(?:\.([0-9]*))?([eE][-+]?[0-9]+)?$`)

// jsonDecimal rewrites a YAML decimal number in JSON's syntax, its digits
// kept: no '+', no leading zero, a digit on both sides of a point.
func jsonDecimal(s string) (json.Number, bool) {
	m := yamlDecimal.FindStringSubmatch(s)
	if m == nil || m[2] == "" && m[3] == "" {
		return "", false
	}
	sign, whole, frac, exp := m[1], strings.TrimLeft(m[2], "0"), m[3], m[4]
	if sign == "+" {
		sign = ""
	}
	if whole == "" {
		whole = "0"
	}
	if frac != "" {
		frac = "." + frac
	}
	return json.Number(sign + whole + frac + exp), true
}
