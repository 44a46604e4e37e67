package redis

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Reading keys back: a rebuild that finds a view's keys by SCAN, not
// through the documents it knows, needs the ids they hold.

// ScanPattern is the SCAN MATCH pattern of the keys a template gives: its
// literal text, glob characters escaped, and * for each placeholder. Every
// key of the template matches it; a key that matches need not be the
// template's (KeyReader tells).
func ScanPattern(template string) (string, error) {
	t, err := parseTemplate(template)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.field != "" {
			b.WriteByte('*')
			continue
		}
		for i := 0; i < len(p.literal); i++ {
			if strings.IndexByte(`*?[]\`, p.literal[i]) >= 0 {
				b.WriteByte('\\')
			}
			b.WriteByte(p.literal[i])
		}
	}
	return b.String(), nil
}

// KeyReader returns a function that reads a key of template back into the
// text of each placeholder's value (field → text), as resolve wrote them.
// shapes is as MatcherOf's. A key the template cannot give, or one it
// gives two documents (p:{a}:{b} over p:1:2:3: a = 1:2 or a = 1), reads
// as nothing (false): whose document it is cannot be told.
func KeyReader(template string, shapes map[string]string) (func(key string) (map[string]string, bool), error) {
	t, err := parseTemplate(template)
	if err != nil {
		return nil, err
	}
	r := keyReader{parts: t.parts, shapes: map[string]*regexp.Regexp{}}
	for field, shape := range shapes {
		re, err := regexp.Compile("^(?:" + shape + ")$")
		if err != nil {
			return nil, fmt.Errorf("key template %q: shape of {%s}: %w", template, field, err)
		}
		r.shapes[field] = re
	}
	return r.only, nil
}

// keyReader reads keys back by trying every place each placeholder's
// value may end; templates have a few placeholders, so the tries are few.
type keyReader struct {
	parts  []part
	shapes map[string]*regexp.Regexp
}

// only is the key's one reading, if it has exactly one.
func (r keyReader) only(key string) (map[string]string, bool) {
	var first map[string]string
	n := 0
	r.read(key, 0, map[string]string{}, func(values map[string]string) bool {
		if n++; n == 1 {
			first = make(map[string]string, len(values))
			for f, v := range values {
				first[f] = v
			}
		}
		return n < 2 // a second reading is enough to give up
	})
	if n != 1 {
		return nil, false
	}
	return first, true
}

// read matches rest against parts[i:], values holding the placeholders
// read so far, and calls found with every complete reading. It returns
// false once found did (stop).
func (r keyReader) read(rest string, i int, values map[string]string, found func(map[string]string) bool) bool {
	if i == len(r.parts) {
		return rest != "" || found(values)
	}
	p := r.parts[i]
	if p.field == "" {
		return !strings.HasPrefix(rest, p.literal) || r.read(rest[len(p.literal):], i+1, values, found)
	}
	if v, seen := values[p.field]; seen {
		// A placeholder named twice holds the same value twice.
		return !strings.HasPrefix(rest, v) || r.read(rest[len(v):], i+1, values, found)
	}
	last := i+1 == len(r.parts)
	for end := 0; end <= len(rest); end++ {
		switch {
		case last && end < len(rest):
			continue // the last placeholder takes the rest
		case end < len(rest) && !utf8.RuneStart(rest[end]):
			continue // values are text: none ends inside a character
		case !last && r.parts[i+1].field == "" && !strings.HasPrefix(rest[end:], r.parts[i+1].literal):
			continue
		}
		v := rest[:end]
		if re := r.shapes[p.field]; re != nil && !re.MatchString(v) {
			continue
		}
		values[p.field] = v
		more := r.read(rest[end:], i+1, values, found)
		delete(values, p.field)
		if !more {
			return false
		}
	}
	return true
}
