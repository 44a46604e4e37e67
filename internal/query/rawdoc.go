package query

import (
	"bytes"
	"encoding/json"
	"slices"

	"github.com/projectorhq/projector/internal/fieldvalue"
)

// rawDoc checks and normalises a doc stored as JSON text, decoding only its
// top level: the id fields are compared, numeric strings become numbers
// (see normalize), and embedded objects are decoded only when some field
// inside them needs that. A get is the API's most frequent request, and a
// full decode and encode of every doc is most of its garbage. ok is false
// when raw is not a JSON object or holds another id (see sameID).
func rawDoc(v *view, raw []byte, vals []string) (doc json.RawMessage, ok bool) {
	var top map[string]json.RawMessage
	if json.Unmarshal(raw, &top) != nil || top == nil {
		return nil, false
	}
	for i, f := range v.ID {
		r, present := top[f.Name]
		if !present {
			continue
		}
		var text string
		if len(r) > 0 && r[0] == '"' {
			if json.Unmarshal(r, &text) != nil {
				return nil, false
			}
		} else {
			text = string(r)
		}
		if isInteger(f) {
			if c, err := fieldvalue.Parse(f.Type, text); err == nil {
				text = c
			}
		}
		if text != vals[i] {
			return nil, false
		}
	}
	changed := false
	for i, f := range v.ID {
		if _, present := top[f.Name]; !present {
			// The sink's fields left the id out: its key gives it back.
			top[f.Name] = idJSON(f, vals[i])
			changed = true
		}
	}
	for _, f := range v.Fields {
		r, present := top[f.Name]
		if !present || len(r) == 0 {
			continue
		}
		switch {
		case r[0] == '"' && isNumber(f) && !f.Type.Array:
			var s string
			if json.Unmarshal(r, &s) == nil && isJSONNumber(s) {
				top[f.Name] = json.RawMessage(s)
				changed = true
			}
		case r[0] == '[' && isNumber(f) && f.Type.Array:
			// numeric[]: the engine's items are strings of digits.
			if bytes.IndexByte(r, '"') < 0 {
				continue
			}
			if b, ok := normalizeRaw(f, r); ok {
				top[f.Name] = b
				changed = true
			}
		case (r[0] == '{' || r[0] == '[') && hasNumbers(f):
			if b, ok := normalizeRaw(f, r); ok {
				top[f.Name] = b
				changed = true
			}
		}
	}
	if !changed {
		return raw, true
	}
	keys := make([]string, 0, len(top))
	n := 2
	for k, r := range top {
		keys = append(keys, k)
		n += len(k) + len(r) + 4
	}
	slices.Sort(keys)
	out := make([]byte, 0, n)
	out = append(out, '{')
	for i, k := range keys {
		if i > 0 {
			out = append(out, ',')
		}
		name, err := json.Marshal(k)
		if err != nil {
			return nil, false
		}
		out = append(out, name...)
		out = append(out, ':')
		out = append(out, top[k]...)
	}
	return append(out, '}'), true
}

// hasNumbers reports whether an embedded object or array has a number
// field (or an array of numbers) somewhere inside, which normalize would
// change.
func hasNumbers(f *field) bool {
	for _, c := range slices.Concat(f.Object, f.Items) {
		if isNumber(c) || hasNumbers(c) {
			return true
		}
	}
	return false
}
