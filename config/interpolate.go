package config

import (
	"fmt"
	"regexp"
	"strings"
)

// expansion is the result of interpolating one scalar.
type expansion struct {
	value    string
	refs     bool     // the scalar had at least one ${...}: its value may come from the environment
	problems []string // messages; they never contain a value read from the environment
	unset    int      // how many of the problems are a variable not set
}

// interpolate expands ${VAR} and ${VAR:-default} in s and turns $$ into $.
// A $ followed by anything else is kept as it is, so passwords and regular
// expressions rarely need escaping. It runs on one scalar after YAML parsing,
// so a value from the environment can never add YAML structure.
func interpolate(s string, lookup func(string) (string, bool)) expansion {
	var x expansion
	out, _ := x.expand(s, 0, false, lookup)
	x.value = out
	return x
}

// expand reads s from i. Inside a default (nested) it stops before the first
// unescaped '}' and returns its index; otherwise it reads to the end. It
// returns -1 as the index after a malformed reference, which ends the scalar.
func (x *expansion) expand(s string, i int, nested bool, lookup func(string) (string, bool)) (string, int) {
	var b strings.Builder
	for i < len(s) {
		c := s[i]
		switch {
		case nested && c == '}':
			return b.String(), i
		case c != '$':
			b.WriteByte(c)
			i++
		case i+1 < len(s) && s[i+1] == '$':
			b.WriteByte('$')
			i += 2
		case i+1 >= len(s) || s[i+1] != '{':
			b.WriteByte('$')
			i++
		default:
			v, next := x.reference(s, i, lookup)
			if next < 0 {
				return b.String(), -1
			}
			b.WriteString(v)
			i = next
		}
	}
	if nested {
		return b.String(), len(s)
	}
	return b.String(), i
}

// reference expands the ${...} starting at s[i] and returns the index after
// its closing brace, or -1 when it is malformed.
func (x *expansion) reference(s string, i int, lookup func(string) (string, bool)) (string, int) {
	x.refs = true
	j := i + 2
	for j < len(s) && isNameByte(s[j]) {
		j++
	}
	name := s[i+2 : j]
	if !envName.MatchString(name) {
		x.malformed(s, i)
		return "", -1
	}
	switch {
	case j < len(s) && s[j] == '}':
		v, ok := lookup(name)
		if !ok {
			x.problems = append(x.problems, fmt.Sprintf("environment variable %q is not set", name))
			x.unset++
		}
		return v, j + 1
	case strings.HasPrefix(s[j:], ":-"):
		// As in the shell, the default is expanded only when it is used:
		// ${A:-${B}} with A set needs no B.
		v, set := lookup(name)
		set = set && v != ""
		before := len(x.problems)
		def, end := x.expand(s, j+2, true, lookup)
		if set {
			// A malformed default is still a mistake in the file.
			kept := x.problems[:before]
			for _, p := range x.problems[before:] {
				if strings.HasPrefix(p, "malformed") {
					kept = append(kept, p)
				}
			}
			x.problems = kept
		}
		if end < 0 {
			return "", -1
		}
		if end >= len(s) {
			x.malformed(s, i)
			return "", -1
		}
		if set {
			return v, end + 1
		}
		return def, end + 1
	default:
		x.malformed(s, i)
		return "", -1
	}
}

func (x *expansion) malformed(s string, i int) {
	ref := s[i:]
	if k := strings.IndexByte(ref, '}'); k >= 0 {
		ref = ref[:k+1]
	}
	if len(ref) > 40 {
		ref = ref[:40] + "…"
	}
	x.problems = append(x.problems, fmt.Sprintf("malformed reference %q: use ${NAME}, ${NAME:-default} or $$ for a literal $", ref))
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func isNameByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// singleRef matches a scalar that is exactly one reference, shown bare in
// messages ("value from ${VAR}").
var singleRef = regexp.MustCompile(`^\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^${}]*)?\}$`)

// fromEnv describes a value that came through interpolation without showing
// it: the raw template is in the file, the value may be a secret.
func fromEnv(raw string) string {
	if singleRef.MatchString(raw) {
		return "value from " + raw
	}
	return fmt.Sprintf("value from %q", raw)
}
