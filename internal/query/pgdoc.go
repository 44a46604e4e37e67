package query

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/projectorhq/projector/internal/fieldvalue"
)

// pgDoc rewrites a doc PostgreSQL's to_jsonb wrote so that it reads as the
// engine wrote it, which is how Redis and Elasticsearch hold it: a reader
// must get the same text whichever store answers.
//
//   - to_jsonb prints a timestamp without its zone ("2023-11-14T22:13:20"),
//     a timestamptz with the session's offset ("…+00:00") and a time with
//     the digits it needs; the engine writes RFC 3339 in UTC and a time with
//     no fraction or 6 digits.
//   - to_jsonb prints a bytea as hex ("\\x0102"); the engine writes standard
//     base64 with padding ("AQI="), as encoding/json does []byte.
//   - Embedded objects and arrays of them are jsonb the engine wrote, with
//     its numerics as strings of their digits ("7.50"); they get numbers, as
//     normalize gives them from Redis and Elasticsearch. Their times and
//     bytes are the engine's text already.
//
// Only the fields pgRewrites picks are looked at; a view without any reads
// its docs as PostgreSQL gives them.
func pgDoc(v *view, raw []byte) ([]byte, error) {
	if len(v.pgFix) == 0 {
		return raw, nil
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	changed := false
	for _, f := range v.pgFix {
		r, ok := doc[f.Name]
		if !ok || len(r) == 0 || r[0] == 'n' { // absent, or null
			continue
		}
		if nr, ok := pgValue(f, r); ok {
			doc[f.Name] = nr
			changed = true
		}
	}
	if !changed {
		return raw, nil
	}
	return marshalText(doc), nil
}

// pgRewrites lists the top-level fields whose to_jsonb text pgDoc
// rewrites: times, bytes (and arrays of them), and embedded objects or
// arrays of them with a number inside.
func pgRewrites(fields []*field) []*field {
	var out []*field
	for _, f := range fields {
		switch {
		case f.Object != nil || f.Array:
			if hasNumbers(f) {
				out = append(out, f)
			}
		case pgScalarRewrite(f.Type.Name):
			out = append(out, f)
		}
	}
	return out
}

func pgScalarRewrite(typ string) bool {
	switch typ {
	case "timestamp", "timestamptz", "time", "bytea":
		return true
	}
	return false
}

// pgValue is the engine's text of one top-level value r of field f as
// to_jsonb wrote it; ok is false when it is the same.
func pgValue(f *field, r json.RawMessage) (json.RawMessage, bool) {
	switch {
	case f.Object != nil || f.Array:
		return normalizeRaw(f, r)
	case f.Type.Array:
		var items []json.RawMessage
		if json.Unmarshal(r, &items) != nil {
			return nil, false
		}
		changed := false
		for i := range items {
			changed = rewriteScalar(f.Type.Name, &items[i]) || changed
		}
		if !changed {
			return nil, false
		}
		return marshalText(items), true
	default:
		ok := rewriteScalar(f.Type.Name, &r)
		return r, ok
	}
}

// rewriteScalar puts a JSON string holding a value of type typ, as
// PostgreSQL prints it, in the engine's text, and reports whether it
// changed it.
func rewriteScalar(typ string, v *json.RawMessage) bool {
	var s string
	if json.Unmarshal(*v, &s) != nil {
		return false // null
	}
	var t string
	var ok bool
	if typ == "bytea" {
		t, ok = engineBytes(s)
	} else {
		t, ok = engineTime(typ, s)
	}
	if !ok || t == s {
		return false
	}
	*v = marshalText(t)
	return true
}

// engineBytes is a bytea as PostgreSQL prints it in hex ("\x0102", the
// default bytea_output) as the engine writes bytes: standard base64 with
// padding ("AQI="). ok is false for any other text.
func engineBytes(s string) (string, bool) {
	h, ok := strings.CutPrefix(s, `\x`)
	if !ok {
		return "", false
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		return "", false
	}
	return base64.StdEncoding.EncodeToString(b), true
}

// normalizeRaw decodes a JSON object or array of field f, gives its
// numbers their JSON type (normalize) and encodes it again; ok is false
// when it does not decode.
func normalizeRaw(f *field, r json.RawMessage) (json.RawMessage, bool) {
	dec := json.NewDecoder(bytes.NewReader(r))
	dec.UseNumber()
	var x any
	if dec.Decode(&x) != nil {
		return nil, false
	}
	normalize([]*field{f}, map[string]any{f.Name: x})
	b, err := marshal(x)
	if err != nil {
		return nil, false
	}
	return b, true
}

// marshalText is marshal of strings, raw messages and maps of them,
// which cannot fail.
func marshalText(v any) []byte {
	b, _ := marshal(v)
	return b
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
		return fieldvalue.TimeOfDay(s)
	}
	return "", false
}
