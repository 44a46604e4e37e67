package redis

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// template is a parsed key template such as "user:{user_id}:stats".
// Placeholders name id fields (sinks.Doc.Key), so deletes, which carry no
// fields, resolve too. "{{" and "}}" stand for literal braces, which Redis
// Cluster hash tags need: "cart:{{{user_id}}}" gives "cart:{42}".
type template struct {
	parts []part
}

// part is a literal or, when field is set, a placeholder.
type part struct {
	literal, field string
}

func parseTemplate(s string) (template, error) {
	var t template
	var lit strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '{' && i+1 < len(s) && s[i+1] == '{':
			lit.WriteByte('{')
			i++
		case c == '}' && i+1 < len(s) && s[i+1] == '}':
			lit.WriteByte('}')
			i++
		case c == '}':
			return template{}, fmt.Errorf("key template %q: unmatched } at byte %d (write }} for a literal brace)", s, i)
		case c == '{':
			end := strings.IndexAny(s[i+1:], "{}")
			if end < 0 || s[i+1+end] != '}' {
				return template{}, fmt.Errorf("key template %q: unclosed { at byte %d", s, i)
			}
			field := s[i+1 : i+1+end]
			if field == "" {
				return template{}, fmt.Errorf("key template %q: empty placeholder at byte %d", s, i)
			}
			if lit.Len() > 0 {
				t.parts = append(t.parts, part{literal: lit.String()})
				lit.Reset()
			}
			t.parts = append(t.parts, part{field: field})
			i += end + 1
		default:
			lit.WriteByte(c)
		}
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, part{literal: lit.String()})
	}
	if len(t.parts) == 0 {
		return template{}, fmt.Errorf("key template is empty")
	}
	return t, nil
}

// prefix is the literal text every key of the template starts with.
func (t template) prefix() string {
	if len(t.parts) > 0 && t.parts[0].field == "" {
		return t.parts[0].literal
	}
	return ""
}

// resolve fills the placeholders from key: strings raw, numbers as their
// digits, booleans as true/false.
func (t template) resolve(key map[string]any) (string, error) {
	var b strings.Builder
	for _, p := range t.parts {
		if p.field == "" {
			b.WriteString(p.literal)
			continue
		}
		v, ok := key[p.field]
		if !ok || v == nil {
			return "", fmt.Errorf("%w: no value for {%s}", ErrKey, p.field)
		}
		s, err := keyValue(v)
		if err != nil {
			return "", fmt.Errorf("%w: {%s}: %w", ErrKey, p.field, err)
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

func keyValue(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return string(x), nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	default:
		return "", fmt.Errorf("a %T cannot be part of a key", v)
	}
}
