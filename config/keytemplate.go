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
	return newKeyPattern(a).overlaps(newKeyPattern(b))
}

// keyPattern is a key template spelled once for KeysOverlap, which a
// configuration's check runs on every pair of its templates.
type keyPattern struct {
	p []int // literal bytes and stars
	// head and tail are the literal text before the first placeholder and
	// after the last (all of it for a template without one): every key
	// the template gives starts with head and ends with tail.
	head, tail string
}

// star stands for a placeholder in a keyPattern; a literal byte is 0-255.
const star = -1

// newKeyPattern spells a key template as literal bytes and stars, one star
// for each run of placeholders (two adjacent ones match what one matches).
func newKeyPattern(parts []KeyPart) keyPattern {
	var p []int
	for _, part := range parts {
		switch {
		case !part.Field:
			for i := 0; i < len(part.Text); i++ {
				p = append(p, int(part.Text[i]))
			}
		case len(p) == 0 || p[len(p)-1] != star:
			p = append(p, star)
		}
	}
	first, last := len(p), -1
	for i, c := range p {
		if c == star {
			first, last = min(first, i), i
		}
	}
	return keyPattern{p: p, head: literal(p[:first]), tail: literal(p[last+1:])}
}

// literal is the text of a run of literal bytes.
func literal(run []int) string {
	b := make([]byte, len(run))
	for i, c := range run {
		b[i] = byte(c)
	}
	return string(b)
}

// overlaps reports whether some key matches both patterns. A common key
// starts with both heads, so one head is a prefix of the other, and ends
// with both tails: most pairs of templates differ there, which settles
// them without the full check.
func (a keyPattern) overlaps(b keyPattern) bool {
	if !strings.HasPrefix(a.head, b.head) && !strings.HasPrefix(b.head, a.head) ||
		!strings.HasSuffix(a.tail, b.tail) && !strings.HasSuffix(b.tail, a.tail) {
		return false
	}
	return commonMatch(a.p, b.p)
}

// commonMatch reports whether some string matches both p and q. can[i][j]
// is whether some string matches both p[i:] and q[j:]; filled from the
// ends, each cell reads only cells of its own row i and the row i+1 after
// it, so two rows are kept instead of the whole table.
func commonMatch(p, q []int) bool {
	next := make([]bool, len(q)+1) // can[i+1]
	cur := make([]bool, len(q)+1)  // can[i]
	for i := len(p); i >= 0; i-- {
		for j := len(q); j >= 0; j-- {
			pStar := i < len(p) && p[i] == star
			qStar := j < len(q) && q[j] == star
			switch {
			case i == len(p) && j == len(q):
				cur[j] = true
			case pStar && qStar:
				// One of the two placeholders ends first.
				cur[j] = next[j] || cur[j+1]
			case pStar:
				// p's placeholder ends, or takes q's next byte.
				cur[j] = next[j] || j < len(q) && cur[j+1]
			case qStar:
				cur[j] = cur[j+1] || i < len(p) && next[j]
			case i < len(p) && j < len(q):
				cur[j] = p[i] == q[j] && next[j+1]
			default:
				// One pattern ends and the other still wants a byte.
				cur[j] = false
			}
		}
		next, cur = cur, next
	}
	return next[0]
}
