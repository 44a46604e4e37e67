package projector

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// decodeStd is what parseRow must match: encoding/json with UseNumber.
func decodeStd(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	// Like json.Unmarshal, which has no UseNumber: nothing but space after.
	if rest := b[d.InputOffset():]; len(bytes.TrimLeft(rest, " \t\r\n")) > 0 {
		return nil, errRowSyntax
	}
	return m, nil
}

var rowSamples = []string{
	`{}`,
	`{"id": 1, "name": "product 1 v2", "price": 12.30, "category": "books", "updated_at": "2026-11-02T09:00:00.000000Z"}`,
	`{"_id": "0000000000000000000000a1", "name": "Ada", "tags": ["a", "b", []], "addr": {"city": "Zürich", "zip": null}, "ok": true, "no": false}`,
	`{"n": -0.5e+10, "m": 0, "k": -12, "big": 123456789012345678901234567890, "e": 1E3}`,
	`{"esc": "q\"b\\s\/n\nt\tr\rb\bf\f", "u": "\u00e9\u0001\ud83d\ude00", "lone": "\ud800x", "lone2": "\udc00\ud800"}`,
	` { "a" : [ 1 , { "b" : [ ] } ] } `,
	`{"a": 1, "a": 2}`,
	"{\"raw\": \"\xff\xfe ok\"}",
	`{"a": 1`, `{"a" 1}`, `{"a": 01}`, `{"a": 1.}`, `{"a": -}`, `{"a": tru}`, `{"a": "x}`, `[1]`, `{"a": 1} x`,
	`{"a": "\x"}`, `{"a": "\u12"}`, "{\"a\": \"\n\"}", `{"a": [1,]}`, `{"a": 1,}`, `{,}`, `{"a": .5}`, `{"a": +1}`,
}

func TestParseRowMatchesEncodingJSON(t *testing.T) {
	for _, s := range rowSamples {
		checkParseRow(t, []byte(s))
	}
}

func FuzzParseRow(f *testing.F) {
	for _, s := range rowSamples {
		f.Add([]byte(s))
	}
	f.Fuzz(checkParseRow)
}

func checkParseRow(t *testing.T, b []byte) {
	want, wantErr := decodeStd(b)
	got, err := parseRow(b)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%q: parseRow error %v, encoding/json error %v", b, err, wantErr)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: parseRow = %#v, encoding/json = %#v", b, got, want)
	}
}
