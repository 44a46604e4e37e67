package debezium

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// TestHintedHoldsItsOwnValues: after ExtractNewDocumentState a document's
// fields are read by the column codecs, then held to the declared types
// again by mongoHints (which a schema's own codec, kept where the hint
// does not replace it, needs). What a codec gave must pass that second
// pass unchanged.
func TestHintedHoldsItsOwnValues(t *testing.T) {
	cols := map[string]string{
		"d": "date", "t": "time(3)", "tz": "timetz", "ts": "timestamptz(0)", "tl": "timestamp",
		"p": "numeric(10,2)", "n": "smallint", "r": "real", "f": "double precision", "b": "boolean",
		"u": "uuid", "ds": "date[]", "ts3": "time[]", "ps": "numeric(10,2)[]", "us": "uuid[]",
	}
	d := mustDecoder(t, Options{Format: FormatUnwrapped, Columns: cols})
	for _, c := range []struct{ col, json string }{
		{"d", `"2024-01-02"`}, {"t", `"10:15:30.1234567"`}, {"t", `36000000`}, {"tz", `"10:00:00+02"`},
		{"ts", `"2024-01-02T03:04:05.678Z"`}, {"ts", `"infinity"`}, {"tl", `1700000000123456`},
		{"p", `10.555`}, {"p", `"NaN"`}, {"n", `7`}, {"r", `3.14159265`}, {"r", `"NaN"`}, {"f", `"-Infinity"`},
		{"b", `true`}, {"u", `"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"`},
		{"ds", `["2024-01-02",null]`}, {"ts3", `["23:59:59.9999999"]`}, {"ps", `[1.005,"NaN"]`},
		{"us", `["A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"]`},
	} {
		st := &dec{s: scanner{data: []byte(c.json)}}
		first, err := st.value(d.hints[c.col], 0)
		if err != nil {
			t.Errorf("%s %s: %v", c.col, c.json, err)
			continue
		}
		again, err := hinted(d.hints[c.col], first)
		if err != nil {
			t.Errorf("%s %s: read as %v, then: %v", c.col, c.json, first, err)
			continue
		}
		if !reflect.DeepEqual(again, first) {
			t.Errorf("%s %s: read as %#v, then %#v", c.col, c.json, first, again)
		}
	}
}

// TestMongoUnwrappedSchemaHints: with JsonConverter schemas the SMT gives
// a MongoDB field the type of its BSON value (a $date a Connect
// Timestamp, a string a string), which the column hint replaces only
// where it adds meaning: the declared type must still hold what the
// schema's codec kept, as in the envelope form.
func TestMongoUnwrappedSchemaHints(t *testing.T) {
	d := mustDecoder(t, Options{Format: FormatUnwrapped, Columns: map[string]string{
		"d": "date", "t": "time", "big": "bigint", "b": "boolean", "ds": "date[]", "u": "uuid",
	}})
	field := func(name, typ, logical string) string {
		s := fmt.Sprintf(`{"field":%q,"type":%q,"optional":true`, name, typ)
		if logical != "" {
			s += fmt.Sprintf(`,"name":%q`, logical)
		}
		return s + "}"
	}
	const timestamp = "org.apache.kafka.connect.data.Timestamp"
	for _, c := range []struct {
		name, field, value string
		want               string // after, as JSON; "" for malformed
	}{
		{"$date in a date", field("d", "int64", timestamp), `"d":1704153600000`, `{"_id":"a","d":"2024-01-02"}`},
		{"$date in a time", field("t", "int64", timestamp), `"t":1704191730000`, `{"_id":"a","t":"10:35:30"}`},
		{"string in a date", field("d", "string", ""), `"d":"2024-01-02"`, `{"_id":"a","d":"2024-01-02"}`},
		{"string in a time", field("t", "string", ""), `"t":"10:15:30"`, `{"_id":"a","t":"10:15:30"}`},
		{"strings in a date[]", `{"field":"ds","type":"array","optional":true,"items":{"type":"string"}}`, `"ds":["2024-01-02"]`, `{"_id":"a","ds":["2024-01-02"]}`},
		{"$dates in a date[]", `{"field":"ds","type":"array","optional":true,"items":{"type":"int64","name":"` + timestamp + `"}}`, `"ds":[1704153600000]`, `{"_id":"a","ds":["2024-01-02"]}`},
		{"string in a uuid", field("u", "string", ""), `"u":"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"`, `{"_id":"a","u":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}`},
		{"text in a bigint", field("big", "string", ""), `"big":"twelve"`, ""},
		{"decimal text in a bigint", field("big", "string", ""), `"big":"12"`, `{"_id":"a","big":12}`},
		{"integer in a boolean", field("b", "int32", ""), `"b":1`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			schema := `{"type":"struct","name":"m.shop.users.Value","optional":false,"fields":[` + field("_id", "string", "") + "," + c.field + "," +
				field("__op", "string", "") + "," + field("__source_ts_ms", "int64", "") + "," + field("__source_ord", "int32", "") + "]}"
			value := `{"schema":` + schema + `,"payload":{"_id":"a",` + c.value + `,"__op":"c","__source_ts_ms":1700000000000,"__source_ord":1}}`
			ch, err := d.Decode([]byte(`{"id":"a"}`), []byte(value))
			if c.want == "" {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("err %v, want malformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(ch.After)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("after %s, want %s", got, c.want)
			}
		})
	}
}

// TestMongoHeaderDeleteKeyNotItsType: the delete read from a tombstone's
// headers holds its key to the declared type as Decode does: an _id
// declared uuid that is none is malformed, not another document.
func TestMongoHeaderDeleteKeyNotItsType(t *testing.T) {
	d := mustDecoder(t, Options{Format: FormatUnwrapped, Columns: map[string]string{"_id": "uuid"}})
	_, err := d.DecodeRecord([]byte(`{"id":"not-a-uuid"}`), nil, []Header{
		{Key: "__op", Value: []byte("d")},
		{Key: "__source_ts_ms", Value: []byte("1700000001000")},
		{Key: "__source_ord", Value: []byte("1")},
	})
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "key._id") {
		t.Fatalf("err %v, want malformed at key._id", err)
	}
}
