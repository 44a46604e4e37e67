package postgres

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/projectorhq/projector/sinks"
)

// batch is the docs of one view in one Write, encoded as the JSON array of
// objects keyed by column name that the upsert reads with
// jsonb_to_recordset. rows locate each doc's object in it, so that a
// statement PostgreSQL rejected can be split.
type batch struct {
	json []byte
	rows []row
}

// row is one doc's object in a batch.
type row struct {
	index      int // in the Write
	id         string
	start, end int // json[start:end]
}

// payload is the JSON array of some of the batch's rows.
func (b *batch) payload(rows []row) []byte {
	if len(rows) == len(b.rows) {
		return b.json
	}
	n := 2
	for _, r := range rows {
		n += r.end - r.start + 1
	}
	out := make([]byte, 0, n)
	out = append(out, '[')
	for i, r := range rows {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, b.json[r.start:r.end]...)
	}
	return append(out, ']')
}

// maxDepth bounds the nesting of a value; deeper is surely a cycle.
const maxDepth = 1000

var errTooDeep = errors.New("value nested too deeply (a cycle?)")

// encoder appends JSON to one buffer. Doc values are JSON-natural, so the
// encoder writes them directly; encoding/json, with its reflection, is only
// the fallback for other Go types.
type encoder struct {
	buf []byte
}

// row appends d as a JSON object. Key columns come from d.Key (falling
// back to d.Fields), so deletes, which carry no fields, still name their
// row. A delete encodes only the key columns: the others become null in
// the tombstone. On error nothing is appended.
func (e *encoder) row(v *view, d *sinks.Doc) error {
	start := len(e.buf)
	e.buf = append(e.buf, '{')
	for i, col := range v.Columns {
		var val any
		if v.isKey[i] {
			val = d.Key[col.Name]
			if val == nil {
				val = d.Fields[col.Name]
			}
			if val == nil {
				e.buf = e.buf[:start]
				return fmt.Errorf("column %q: %w", col.Name, ErrMissingKey)
			}
		} else if !d.Deleted {
			val = d.Fields[col.Name]
		}
		if val == nil {
			continue
		}
		e.buf = append(e.buf, v.jsonKeys[i]...)
		if err := e.value(val, 0); err != nil {
			e.buf = e.buf[:start]
			return fmt.Errorf("column %q: %w: %w", col.Name, ErrBadValue, err)
		}
		e.buf = append(e.buf, ',')
	}
	e.buf = append(e.buf, `"_rev":`...)
	e.buf = strconv.AppendInt(e.buf, d.Rev, 10)
	e.buf = append(e.buf, `,"_deleted":`...)
	e.buf = strconv.AppendBool(e.buf, d.Deleted)
	e.buf = append(e.buf, '}')
	return nil
}

// value appends one JSON value. Object keys are written sorted, as
// encoding/json does, so a doc always encodes the same way.
func (e *encoder) value(v any, depth int) error {
	switch x := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case string:
		e.buf = appendString(e.buf, x)
	case json.Number:
		if !isJSONNumber(string(x)) {
			return fmt.Errorf("invalid number %q", string(x))
		}
		e.buf = append(e.buf, x...)
	case bool:
		e.buf = strconv.AppendBool(e.buf, x)
	case map[string]any:
		if depth >= maxDepth {
			return errTooDeep
		}
		var small [16]string
		keys := small[:0]
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		e.buf = append(e.buf, '{')
		for i, k := range keys {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.buf = appendString(e.buf, k)
			e.buf = append(e.buf, ':')
			if err := e.value(x[k], depth+1); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, '}')
	case []any:
		if depth >= maxDepth {
			return errTooDeep
		}
		e.buf = append(e.buf, '[')
		for i, el := range x {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			if err := e.value(el, depth+1); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, ']')
	default:
		return e.marshalled(x, depth)
	}
	return nil
}

// marshalled appends a value of a type the encoder does not know through
// encoding/json, decoded again and re-encoded here so that its strings
// follow the same rules as every other string (see appendString).
func (e *encoder) marshalled(x any, depth int) error {
	b, err := json.Marshal(x)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	return e.value(v, depth)
}

// isJSONNumber reports whether s is exactly one JSON number: valid JSON
// that starts like a number cannot be anything else.
func isJSONNumber(s string) bool {
	return len(s) > 0 && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) && json.Valid([]byte(s))
}

// appendString appends s as a JSON string, as encoding/json would without
// HTML escaping: invalid UTF-8 becomes U+FFFD. So does NUL, unlike in
// encoding/json: PostgreSQL's text and jsonb cannot hold it (\u0000 is
// rejected with SQLSTATE 22P05), and a doc refused for it would be refused
// on every retry. Keys and values are both encoded here, so the policy
// holds for column values and for keys and values nested in jsonb alike.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, `\n`...)
			case '\r':
				b = append(b, `\r`...)
			case '\t':
				b = append(b, `\t`...)
			case 0:
				b = append(b, `\ufffd`...)
			default:
				b = append(b, `\u00`...)
				b = append(b, hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
