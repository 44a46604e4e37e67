package redis

import (
	"bytes"
	"encoding/json"

	"fmt"
	"slices"
	"sort"
	"strconv"

	gojson "github.com/goccy/go-json"
	"github.com/projectorhq/projector/sinks"
)

// encoder reuses one buffer for the docs of a batch.
type encoder struct {
	buf bytes.Buffer
	enc *gojson.Encoder // goccy/go-json: encoding/json's output, without its reflection cost
}

func (e *encoder) encode(v any) ([]byte, error) {
	if e.enc == nil {
		e.enc = gojson.NewEncoder(&e.buf)
		e.enc.SetEscapeHTML(false) // readers get "<" as it was, not \u003c
	}
	e.buf.Reset()
	if err := e.enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(e.buf.Bytes(), []byte("\n")), nil
}

// json is the doc as one JSON object, limited to the view's fields.
func (e *encoder) json(v *view, fields map[string]any) (string, error) {
	if fields == nil {
		fields = map[string]any{}
	}
	if v.fields != nil {
		kept := make(map[string]any, len(v.fields))
		for f := range v.fields {
			if val, ok := fields[f]; ok {
				kept[f] = val
			}
		}
		fields = kept
	}
	b, err := e.encode(fields)
	return string(b), err
}

// hash appends the field/value pairs of a hash, in field order so that the
// same doc always makes the same command.
// Keyed reports whether a live doc of view gives a key: every one does but
// a hash of only null fields (or none the sink writes), which Redis cannot
// hold as an empty hash (see write's 'hash').
func (s *Sink) Keyed(viewName string, d *sinks.Doc) bool {
	v, ok := s.views[viewName]
	if !ok || v.Format != FormatHash {
		return true
	}
	for f, val := range d.Fields {
		if val != nil && (v.fields == nil || v.fields[f]) {
			return true
		}
	}
	return false
}

func (e *encoder) hash(args []any, v *view, fields map[string]any) ([]any, error) {
	names := make([]string, 0, len(fields))
	for f, val := range fields {
		if val != nil && (v.fields == nil || v.fields[f]) {
			names = append(names, f)
		}
	}
	sort.Strings(names)
	for _, f := range names {
		var s string
		switch x := fields[f].(type) {
		case string:
			if slices.Contains(v.JSON, f) {
				b, err := e.encode(x)
				if err != nil {
					return nil, fmt.Errorf("field %q: %w", f, err)
				}
				s = string(b)
				break
			}
			s = x
		case json.Number:
			s = string(x)
		case bool:
			s = strconv.FormatBool(x)
		default:
			b, err := e.encode(x)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", f, err)
			}
			s = string(b)
		}
		args = append(args, f, s)
	}
	return args, nil
}
