package debezium

import (
	"bytes"
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
		if k, err = parseStructString(string(bytes.TrimSpace(key)), d.textual, &p); err != nil {
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
// "Struct{a=1,b=x}". A value that starts with '{', '[' or '"' is read as a
// JSON value and kept as its text (MongoDB writes Extended JSON there); other
// values are integers when they parse as one and their column is not
// declared text (textual), else strings: a text key "007" stays "007", as
// the row has it, and apart from a key "7".
func parseStructString(s string, textual map[string]bool, p *path) (map[string]any, error) {
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
		if body != "" && (body[0] == '{' || body[0] == '[' || body[0] == '"') {
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
