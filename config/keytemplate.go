package config

import (
	"fmt"
	"regexp"
	"strings"
)

// KeyPart is one piece of a Redis key template: literal text, or the name
// of a document field whose value is put there.
type KeyPart struct {
	Text  string
	Field bool // Text names a field ("id", "customer.id")
}

// ParseKeyTemplate splits a Redis key template such as "order:{id}" into
// literal text and {field} placeholders. "{{" and "}}" stand for literal
// braces, so a Redis Cluster hash tag is written "{{order}}:{id}".
func ParseKeyTemplate(s string) ([]KeyPart, error) {
	var parts []KeyPart
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, KeyPart{Text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '{' && strings.HasPrefix(s[i:], "{{"), c == '}' && strings.HasPrefix(s[i:], "}}"):
			lit.WriteByte(c)
			i++
		case c == '}':
			return nil, fmt.Errorf(`%w: "}" at offset %d has no "{" (write "}}" for a literal brace)`, ErrKeyTemplate, i)
		case c == '{':
			end := strings.IndexAny(s[i+1:], "{}")
			if end < 0 || s[i+1+end] != '}' {
				return nil, fmt.Errorf(`%w: "{" at offset %d is not closed (write "{{" for a literal brace)`, ErrKeyTemplate, i)
			}
			name := s[i+1 : i+1+end]
			if !placeholder.MatchString(name) {
				return nil, fmt.Errorf("%w: placeholder {%s} at offset %d must name a field (letters, digits, _ and . for nested fields)", ErrKeyTemplate, name, i)
			}
			flush()
			parts = append(parts, KeyPart{Text: name, Field: true})
			i += 1 + end
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return parts, nil
}

var placeholder = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)

// KeysOverlap reports whether two key templates can give the same key,
// each placeholder standing for any string, the empty one included: whether
// the two patterns, literal bytes and stars, match a common string.
func KeysOverlap(a, b []KeyPart) bool {
	p, q := keyPattern(a), keyPattern(b)
	// can[i][j]: some string matches both p[i:] and q[j:]. Filled from the
	// ends, so each cell reads cells already filled.
	can := make([][]bool, len(p)+1)
	for i := range can {
		can[i] = make([]bool, len(q)+1)
	}
	for i := len(p); i >= 0; i-- {
		for j := len(q); j >= 0; j-- {
			pStar := i < len(p) && p[i] == star
			qStar := j < len(q) && q[j] == star
			switch {
			case i == len(p) && j == len(q):
				can[i][j] = true
			case pStar && qStar:
				// One of the two placeholders ends first.
				can[i][j] = can[i+1][j] || can[i][j+1]
			case pStar:
				// p's placeholder ends, or takes q's next byte.
				can[i][j] = can[i+1][j] || j < len(q) && can[i][j+1]
			case qStar:
				can[i][j] = can[i][j+1] || i < len(p) && can[i+1][j]
			case i < len(p) && j < len(q):
				can[i][j] = p[i] == q[j] && can[i+1][j+1]
			}
		}
	}
	return can[0][0]
}

// star stands for a placeholder in a keyPattern; a literal byte is 0-255.
const star = -1

// keyPattern spells a key template as literal bytes and stars, one star for
// each run of placeholders (two adjacent ones match what one matches).
func keyPattern(parts []KeyPart) []int {
	var out []int
	for _, p := range parts {
		switch {
		case !p.Field:
			for i := 0; i < len(p.Text); i++ {
				out = append(out, int(p.Text[i]))
			}
		case len(out) == 0 || out[len(out)-1] != star:
			out = append(out, star)
		}
	}
	return out
}
