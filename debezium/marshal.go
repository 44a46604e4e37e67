package debezium

import (
	"bytes"
	"encoding/json"
)

// MarshalJSON writes the change as `projector inspect` shows it: one object
// with "kind" first, then what that kind carries. A change has "op",
// "source", "key", "before" and "after" (null when absent), "unchanged"
// (only when some column was the TOAST placeholder) and "patch" (only for a
// partial MongoDB update). Values keep their natural JSON: exact decimals as
// strings, int64 as integers, dates YYYY-MM-DD, times HH:MM:SS[.ffffff],
// timestamps RFC 3339 in UTC, bytes base64, Json columns embedded.
func (c Change) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	first := true
	put := func(name string, v any) error {
		if first {
			b.WriteByte('{')
			first = false
		} else {
			b.WriteByte(',')
		}
		b.WriteString(`"` + name + `":`)
		if err := enc.Encode(v); err != nil {
			return err
		}
		b.Truncate(b.Len() - 1) // Encode's newline
		return nil
	}
	fields := []struct {
		name string
		v    any
		ok   bool
	}{
		{"kind", c.Kind, true},
		{"op", c.Op, c.Kind == KindChange},
		{"source", c.Source, c.Kind == KindChange || c.Kind == KindHeartbeat || c.Kind == KindSchemaChange},
		{"key", exactMap(c.Key), c.Kind == KindChange || c.Kind == KindTombstone || c.Key != nil},
		{"before", exactMap(c.Before), c.Kind == KindChange},
		{"after", exactMap(c.After), c.Kind == KindChange},
		{"unchanged", c.Unchanged, len(c.Unchanged) > 0},
		{"patch", exactPatch(c.Patch), c.Patch != nil},
		{"transaction", c.Transaction, c.Transaction != nil},
		{"schema_change", c.SchemaChange, c.SchemaChange != nil},
	}
	for _, f := range fields {
		if !f.ok {
			continue
		}
		if err := put(f.name, f.v); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// exactMap keeps a nil map nil (JSON null) and renders decimals exactly.
func exactMap(m map[string]any) any {
	if m == nil {
		return nil
	}
	return Exact(m)
}

func exactPatch(p *Patch) *Patch {
	if p == nil {
		return nil
	}
	q := *p
	if p.Set != nil {
		q.Set = Exact(p.Set).(map[string]any)
	}
	return &q
}
