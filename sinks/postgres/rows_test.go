package postgres

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// FuzzAppendString checks the hand-written string encoder against
// encoding/json: both must decode to the same string.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", `"quoted" \back`, "tab\tnl\ncr\r\x00\x1f\x7f", "Ünïcödé 你好 🚀 \u2028", "bad \xff\xfe utf8", "<&>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("appendString(%q) = %s: invalid JSON: %v", s, b, err)
		}
		ref, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var want string
		if err := json.Unmarshal(ref, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("appendString(%q) decodes to %q, encoding/json's to %q", s, got, want)
		}
	})
}

// FuzzValue checks the value encoder against encoding/json on every
// JSON-natural value: both encodings must decode to the same value.
func FuzzValue(f *testing.F) {
	for _, s := range []string{`null`, `"x"`, `12.50`, `-1e400`, `true`, `{"b":[1,{"c":null}],"a":"\u2028<>"}`, `[[],{},""]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		dec := json.NewDecoder(strings.NewReader(doc))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil {
			return
		}
		var e encoder
		if err := e.value(v, 0); err != nil {
			t.Fatalf("value(%s): %v", doc, err)
		}
		ref, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := decode(t, e.buf), decode(t, ref); !reflect.DeepEqual(got, want) {
			t.Fatalf("value(%s) = %s, decodes to %v; encoding/json's to %v", doc, e.buf, got, want)
		}
	})
}

func decode(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return v
}
