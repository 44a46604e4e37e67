package debezium

import (
	"bytes"
	"slices"
	"strings"
)

// decodeKey decodes the record key: JsonConverter with or without schema,
// or StringConverter's Struct{id=47}. A MongoDB key {"id": "<Extended
// JSON>"} becomes {"_id": value}. Absent or null key bytes give a nil key.
func (d *Decoder) decodeKey(key []byte, hint keyHint) (map[string]any, error) {
	p := path{name: "key"}
	s := scanner{data: key}
	var (
		k   map[string]any
		err error
	)
	switch tok := s.peek(); {
	case s.pos >= len(key):
		return nil, nil
	case tok == '{':
		if k, err = d.jsonKey(key, &p); err != nil {
			return nil, err
		}
	case tok == 'n' && isNullValue(key):
		return nil, nil
	case bytes.HasPrefix(bytes.TrimSpace(key), []byte("Struct{")):
		if k, err = parseStructString(string(bytes.TrimSpace(key)), d.textual, d.keyFields, &p); err != nil {
			return nil, err
		}
	default:
		return nil, malformed(&p, "expected a JSON object or Struct{...}, found %s", tokenName(tok))
	}
	if k == nil {
		return nil, nil
	}
	switch hint {
	case keyMongo:
		return mongoKey(k, true, false, &p)
	case keyMongoUnwrapped:
		return mongoKey(k, true, true, &p)
	case keyMaybeMongo:
		return mongoKey(k, false, false, &p)
	case keyUnknown:
		return mongoKey(k, false, true, &p)
	}
	return k, nil
}

func (d *Decoder) jsonKey(key []byte, p *path) (map[string]any, error) {
	s := scanner{data: key}
	s.ws()
	t, err := d.topMembers(&s, roleRow)
	if err != nil {
		return d.plainKey(key, p) // reports the error with its path
	}
	row := d.plain.row
	payload := key
	if t.m.count == 2 && t.m.schema && t.m.payload {
		payload = t.payloadRaw
		if isNullValue(payload) {
			return nil, nil
		}
		switch {
		case t.schema != nil:
			row = t.schema.row
		case !isNullValue(t.schemaRaw):
			sp := path{name: "key.schema"}
			c, err := d.schema(t.schemaRaw, roleRow, &sp)
			if err != nil {
				return nil, err
			}
			row = c.row
		}
	}
	st := &dec{s: scanner{data: payload}}
	if tok := st.s.peek(); tok != '{' {
		return nil, under(st.unexpected("an object", tok), p)
	}
	k, err := st.object(row, 0, nil)
	if err != nil {
		return nil, under(err, p)
	}
	if err := st.s.end(); err != nil {
		return nil, malformed(p, "%v", err)
	}
	return k, nil
}

// plainKey decodes a key as schemaless JSON.
func (d *Decoder) plainKey(key []byte, p *path) (map[string]any, error) {
	st := &dec{s: scanner{data: key}}
	k, err := st.object(d.plain.row, 0, nil)
	if err != nil {
		return nil, under(err, p)
	}
	if err := st.s.end(); err != nil {
		return nil, malformed(p, "%v", err)
	}
	return k, nil
}

// parseStructString reads Kafka Connect's Struct.toString form,
// "Struct{a=1,b=x}". The value of a column declared text (textual) is its
// text as printed, up to the next field: a text key "007" stays "007", as
// the row has it, and apart from a key "7"; "[A-1]" stays "[A-1]". Of
// other columns, a value that starts with '{', '[' or '"' is read as a JSON
// value and kept as its text (MongoDB writes Extended JSON there); other
// values are integers when they parse as one, else strings. With the key's
// fields known (keys), a text value ends only where one of those not read
// yet starts: a distinguished name "cn=admins,ou=people" stays whole.
func parseStructString(s string, textual map[string]bool, keys []string, p *path) (map[string]any, error) {
	if !strings.HasPrefix(s, "Struct{") || !strings.HasSuffix(s, "}") {
		return nil, malformed(p, "unterminated Struct{...}")
	}
	body := s[len("Struct{") : len(s)-1]
	out := map[string]any{}
	for len(body) > 0 {
		eq := strings.IndexByte(body, '=')
		if eq <= 0 {
			return nil, malformed(p, "Struct field without '='")
		}
		name := body[:eq]
		body = body[eq+1:]
		fp := p.field(name)
		var text string
		if textual[name] {
			// Printed as it is: up to the next field, commas and brackets
			// included.
			end := fieldEnd(body)
			if slices.Contains(keys, name) {
				end = keyFieldEnd(body, keys, textual, out, name)
			}
			out[name] = body[:end]
			body = body[end:]
		} else if body != "" && (body[0] == '{' || body[0] == '[' || body[0] == '"') {
			sc := scanner{data: []byte(body)}
			span, err := sc.span(1)
			if err != nil {
				return nil, malformed(&fp, "%v", err)
			}
			text = string(span)
			body = body[sc.pos:]
			out[name] = text
		} else {
			end := strings.IndexByte(body, ',')
			if end < 0 {
				end = len(body)
			}
			text = body[:end]
			body = body[end:]
			if n, ok := parseInt([]byte(text)); ok && !textual[name] {
				out[name] = n
			} else {
				out[name] = text
			}
		}
		if body == "" {
			break
		}
		if body[0] != ',' {
			return nil, malformed(&fp, "expected ',' after the value")
		}
		body = body[1:]
	}
	return out, nil
}

// fieldEnd is where the value at the start of body ends: at the first ','
// that a field name and '=' follow, else at the end.
func fieldEnd(body string) int {
	for i := 0; i < len(body); i++ {
		if body[i] != ',' {
			continue
		}
		rest := body[i+1:]
		eq := strings.IndexByte(rest, '=')
		if eq > 0 && isFieldName(rest[:eq]) {
			return i
		}
	}
	return len(body)
}

// keyFieldEnd is where the value at the start of body, of key field name,
// ends: at the first ',' that a field name and '=' follow, when that name
// is one the key may hold besides: another key field not read yet (in
// out), a declared column (message.key.columns may name more than key:),
// or Debezium's own (__dbz__physicalTableIdentifier, a router's); else at
// the end. So "ou=people" stays in the text unless ou is a column.
func keyFieldEnd(body string, keys []string, columns map[string]bool, out map[string]any, name string) int {
	for i := 0; i < len(body); i++ {
		if body[i] != ',' {
			continue
		}
		rest := body[i+1:]
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 || !isFieldName(rest[:eq]) {
			continue
		}
		field := rest[:eq]
		_, read := out[field]
		_, declared := columns[field]
		if field != name && !read && (slices.Contains(keys, field) || declared || strings.HasPrefix(field, "__")) {
			return i
		}
	}
	return len(body)
}

func isFieldName(s string) bool {
	for i, r := range s {
		if r != '_' && !(r >= 'a' && r <= 'z') && !(r >= 'A' && r <= 'Z') && !(i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}
