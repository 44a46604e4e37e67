package query

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/projectorhq/projector/debezium"
)

// pgDoc rewrites a doc PostgreSQL's to_jsonb wrote so that it reads as the
// engine wrote it, which is how Redis and Elasticsearch hold it: a reader
// must get the same text whichever store answers. to_jsonb prints a
// timestamp without its zone ("2023-11-14T22:13:20"), a timestamptz with
// the session's offset ("…+00:00") and a time with the digits it needs;
// the engine writes RFC 3339 in UTC and a time with 0, 6 or 9 digits.
// Nested values are jsonb the engine wrote already; only the top-level
// columns need it.
func pgDoc(v *view, raw []byte) ([]byte, error) {
	var times []*field
	for _, f := range v.Fields {
		switch f.Type.Name {
		case "timestamp", "timestamptz", "time":
			times = append(times, f)
		}
	}
	if len(times) == 0 {
		return raw, nil
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	changed := false
	for _, f := range times {
		if f.Type.Array {
			var items []json.RawMessage
			if json.Unmarshal(doc[f.Name], &items) != nil {
				continue // null, or absent
			}
			itemChanged := false
			for i := range items {
				itemChanged = rewriteTime(f.Type.Name, &items[i]) || itemChanged
			}
			if itemChanged {
				doc[f.Name] = marshalText(items)
				changed = true
			}
			continue
		}
		if v, ok := doc[f.Name]; ok && rewriteTime(f.Type.Name, &v) {
			doc[f.Name] = v
			changed = true
		}
	}
	if !changed {
		return raw, nil
	}
	return marshalText(doc), nil
}

// rewriteTime puts a JSON string holding a time of type typ, as PostgreSQL
// prints it, in the engine's text, and reports whether it changed it.
func rewriteTime(typ string, v *json.RawMessage) bool {
	var s string
	if json.Unmarshal(*v, &s) != nil {
		return false // null
	}
	t, ok := engineTime(typ, s)
	if !ok || t == s {
		return false
	}
	*v = marshalText(t)
	return true
}

// marshalText encodes v as the engine does, without escaping <, > and &.
func marshalText(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // strings, raw messages and maps of them
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// engineTime is a time value of type typ, as PostgreSQL prints it, in the
// engine's text; ok is false for a text it does not read ('infinity' stays
// as it is).
func engineTime(typ, s string) (string, bool) {
	switch typ {
	case "timestamp":
		t, err := time.Parse("2006-01-02T15:04:05.999999999", s)
		if err != nil {
			return "", false
		}
		return t.UTC().Format(time.RFC3339Nano), true
	case "timestamptz":
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return "", false
		}
		return t.UTC().Format(time.RFC3339Nano), true
	case "time":
		t, err := time.Parse("15:04:05.999999999", s)
		if err != nil {
			return "", false // 24:00:00, which the engine writes as PostgreSQL does
		}
		d := time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute +
			time.Duration(t.Second())*time.Second + time.Duration(t.Nanosecond())
		return debezium.TimeOfDay(d).String(), true
	}
	return "", false
}
