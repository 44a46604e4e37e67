package debezium

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// fuzzDecoders cover every format; the column hints exercise the typed paths.
func fuzzDecoders(t testing.TB) []*Decoder {
	cols := map[string]string{
		"price": "numeric(10,2)", "n": "bigint", "d": "date", "ts": "timestamp", "tsz": "timestamptz",
		"t": "time", "j": "jsonb", "u": "uuid", "b": "bytea", "tags": "text[]", "iv": "interval", "amount": "numeric",
		"qty": "integer", "s": "smallint", "cost": "numeric(5,2)",
	}
	var out []*Decoder
	for _, f := range []Format{FormatAuto, FormatJSON, FormatUnwrapped, FormatAvro} {
		out = append(out, mustDecoder(t, Options{Format: f}), mustDecoder(t, Options{Format: f, Columns: cols}))
	}
	for _, d := range out {
		for id, s := range avroSchemas {
			if err := d.AddAvroSchema(id, s); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

func FuzzDecode(f *testing.F) {
	for _, s := range loadSamples(f) {
		f.Add(s.key, s.value, uint8(0))
	}
	f.Add([]byte(nil), pgRecord(map[string]string{"a": `{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}}`}, []string{"a"}, `{"a":"AQ=="}`), uint8(0))
	f.Add([]byte(`Struct{id={"$oid": "68121c1692da88b533465769"}}`), mongoValue("u", "", `{"$set": {"a": 1}}`, `{"_id": 1}`, ""), uint8(0))
	f.Add([]byte(`{"id":1}`), []byte(`{"id":1,"__deleted":"true","body":"__debezium_unavailable_value"}`), uint8(4))
	f.Add([]byte(nil), []byte("\x00\x00\x00\x00\x01\x02"), uint8(6))
	for _, kv := range avroSeeds(f) {
		f.Add(kv[0], kv[1], uint8(0))
		f.Add(kv[0], kv[1], uint8(7))
	}
	decoders := fuzzDecoders(f)
	f.Fuzz(func(t *testing.T, key, value []byte, which uint8) {
		d := decoders[int(which)%len(decoders)]
		ch, err := d.Decode(key, value)
		if err != nil {
			var unknown *UnknownSchemaError
			if !errors.Is(err, ErrMalformed) && !errors.As(err, &unknown) {
				t.Fatalf("error %v wraps neither ErrMalformed nor *UnknownSchemaError", err)
			}
			return
		}
		checkChange(t, ch)
		first, err := json.Marshal(ch)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if !json.Valid(first) {
			t.Fatalf("invalid JSON: %s", first)
		}
		// Decoding again goes through the schema cache: same result.
		again, err := d.Decode(key, value)
		if err != nil {
			t.Fatalf("second decode failed: %v (first: %s)", err, first)
		}
		second, _ := json.Marshal(again)
		if !bytes.Equal(first, second) || again.Position != ch.Position {
			t.Fatalf("decode not deterministic:\n%s\n%s", first, second)
		}
	})
}

// checkChange asserts the invariants of any successfully decoded change.
func checkChange(t *testing.T, ch Change) {
	t.Helper()
	if ch.Kind < KindChange || ch.Kind > KindSchemaChange {
		t.Fatalf("kind %d", ch.Kind)
	}
	if ch.Kind == KindChange && (ch.Op < OpCreate || ch.Op > OpTruncate) {
		t.Fatalf("op %d", ch.Op)
	}
	if !slices.IsSorted(ch.Unchanged) {
		t.Fatalf("unchanged not sorted: %v", ch.Unchanged)
	}
	for _, row := range []map[string]any{ch.Before, ch.After} {
		for col, v := range row {
			if isPlaceholderValue(v) {
				t.Fatalf("placeholder left in column %s", col)
			}
			checkStorable(t, col, v)
		}
	}
}

// checkStorable asserts that the dates and timestamps in v, at any depth,
// are in years 1..9999, which PostgreSQL takes back as the decoder writes
// them.
func checkStorable(t *testing.T, col string, v any) {
	t.Helper()
	switch x := v.(type) {
	case time.Time:
		if !inYears(x) {
			t.Fatalf("column %s: timestamp %v outside years 1..9999", col, x)
		}
	case Date:
		if x.Year < 1 || x.Year > 9999 {
			t.Fatalf("column %s: date %v outside years 1..9999", col, x)
		}
	case []any:
		for _, e := range x {
			checkStorable(t, col, e)
		}
	case map[string]any:
		for _, e := range x {
			checkStorable(t, col, e)
		}
	}
}

func FuzzExtendedJSON(f *testing.F) {
	for _, s := range loadSamples(f) {
		var doc map[string]any
		if json.Unmarshal(s.value, &doc) != nil {
			continue
		}
		if p, ok := doc["payload"].(map[string]any); ok {
			doc = p
		}
		for _, k := range []string{"after", "before", "patch", "filter"} {
			if s, ok := doc[k].(string); ok {
				f.Add([]byte(s))
			}
		}
		if ud, ok := doc["updateDescription"].(map[string]any); ok {
			if s, ok := ud["updatedFields"].(string); ok {
				f.Add([]byte(s))
			}
		}
	}
	for _, s := range []string{
		`{"$numberDecimal": "1.10"}`, `{"$binary": "YPFP4vhXQEq1hjtTdbMlnw==", "$type": "04"}`,
		`{"$binary": {"base64": "AAEC", "subType": "80"}}`, `{"$date": {"$numberLong": "-5"}}`,
		`{"$timestamp": {"t": 1, "i": 2}}`, `{"$regex": "a", "$options": ""}`, `{"$minKey": 1}`,
		`{"$code": "f", "$scope": {"a": {"$numberInt": "1"}}}`, `[{"$numberDouble": "-0.0"}, 1e308, -9223372036854775808]`,
		`{"$dbPointer": {"$ref": "a.b", "$id": {"$oid": "0123456789abcdef01234567"}}}`, `{"$undefined": true}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := ParseExtendedJSON(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if out, err := json.Marshal(v); err != nil || !json.Valid(out) {
			t.Fatalf("natural JSON of %#v: %v", v, err)
		}
		norm, err := canonicalExtJSON(v)
		if err != nil {
			t.Fatalf("canonical form of %#v: %v", v, err)
		}
		v2, err := ParseExtendedJSON(norm)
		if err != nil {
			t.Fatalf("canonical form %s does not parse: %v", norm, err)
		}
		if !sameExt(v, v2) {
			t.Fatalf("round trip differs:\n in  %#v\n out %#v\n via %s", v, v2, norm)
		}
	})
}

func TestExtendedJSONRoundTrip(t *testing.T) {
	for _, in := range []string{
		`{"a": {"$date": "2025-04-30T17:33:30.612345Z"}, "b": [{"$numberDecimal": "1.10"}, {"$binary": "AAE=", "$type": "00"}]}`,
		`{"$code": "f", "$scope": {"x": 1}}`, `{"$maxKey": 1}`, `{"x": {"$timestamp": {"t": 4294967295, "i": 0}}}`,
	} {
		v, err := ParseExtendedJSON([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		norm, err := canonicalExtJSON(v)
		if err != nil {
			t.Fatal(err)
		}
		v2, err := ParseExtendedJSON(norm)
		if err != nil || !sameExt(v, v2) {
			t.Errorf("%s: round trip via %s gave %#v, %v", in, norm, v2, err)
		}
	}
}

// canonicalExtJSON writes a decoded value as canonical Extended JSON v2.
func canonicalExtJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	err := writeCanonical(&b, v)
	return b.Bytes(), err
}

func writeCanonical(b *bytes.Buffer, v any) error {
	quote := func(s string) {
		q, _ := json.Marshal(s)
		b.Write(q)
	}
	wrap := func(k, s string) {
		b.WriteString(`{"` + k + `":`)
		quote(s)
		b.WriteByte('}')
	}
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case string:
		quote(v)
	case int64:
		wrap("$numberLong", strconv.FormatInt(v, 10))
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return errors.New("non-finite float in decoded value")
		}
		wrap("$numberDouble", strconv.FormatFloat(v, 'g', -1, 64))
	case decimal.Decimal:
		wrap("$numberDecimal", v.String())
	case time.Time:
		b.WriteString(`{"$date":`)
		wrap("$numberLong", strconv.FormatInt(v.UnixMilli(), 10))
		b.WriteByte('}')
	case []byte:
		b.WriteString(`{"$binary":{"base64":"` + base64.StdEncoding.EncodeToString(v) + `","subType":"00"}}`)
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeCanonical(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			quote(k)
			b.WriteByte(':')
			if err := writeCanonical(b, v[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return errors.New("unexpected type " + reflect.TypeOf(v).String())
	}
	return nil
}

// sameExt compares decoded values: decimals by value, times by instant.
func sameExt(a, b any) bool {
	switch a := a.(type) {
	case decimal.Decimal:
		d, ok := b.(decimal.Decimal)
		return ok && a.Equal(d)
	case time.Time:
		t, ok := b.(time.Time)
		return ok && a.Equal(t) && t.Location() == time.UTC
	case float64:
		f, ok := b.(float64)
		return ok && (a == f || math.IsNaN(a) && math.IsNaN(f))
	case []any:
		c, ok := b.([]any)
		if !ok || len(a) != len(c) {
			return false
		}
		for i := range a {
			if !sameExt(a[i], c[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		c, ok := b.(map[string]any)
		if !ok || len(a) != len(c) {
			return false
		}
		for k, v := range a {
			w, ok := c[k]
			if !ok || !sameExt(v, w) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}
