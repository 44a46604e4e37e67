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
