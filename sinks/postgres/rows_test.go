package postgres

import (
	"bytes"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
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
		want = strings.ReplaceAll(want, "\x00", "\uFFFD") // the sink's NUL policy
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
		if got, want := decode(t, e.buf), withoutNUL(decode(t, ref)); !reflect.DeepEqual(got, want) {
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

// withoutNUL is v with every NUL in its strings and keys replaced by
// U+FFFD, as the sink stores it.
func withoutNUL(v any) any {
	switch x := v.(type) {
	case string:
		return strings.ReplaceAll(x, "\x00", "\uFFFD")
	case []any:
		out := make([]any, len(x))
		for i, el := range x {
			out[i] = withoutNUL(el)
		}
		return out
	case map[string]any:
		// Keys in the encoder's order: of two keys that become equal, the
		// later one wins, as in the encoded object.
		out := make(map[string]any, len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			out[strings.ReplaceAll(k, "\x00", "\uFFFD")] = withoutNUL(x[k])
		}
		return out
	}
	return v
}

// PostgreSQL's text and jsonb cannot hold NUL: the sink stores U+FFFD in
// its place, in column values and in jsonb keys and values, so that such a
// doc is written rather than refused on every retry.
func TestNULStoredAsReplacementCharacter(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	v := View{Name: "v", Table: "v",
		Columns: []Column{{Name: "id", Type: "text"}, {Name: "name", Type: "text"}, {Name: "tags", Type: "text[]"}, {Name: "attrs", Type: "jsonb"}},
		ID:      []string{"id"}}
	s := newSink(t, pool, v)
	d := sinks.Doc{View: "v", ID: "k\x00", Key: map[string]any{"id": "k\x00"}, Rev: 1, Fields: map[string]any{
		"name":  "a\x00b",
		"tags":  []string{"t\x00"}, // not JSON-natural: encoded through encoding/json
		"attrs": map[string]any{"k\x00": "x\x00y", "list": []any{"\x00"}},
	}}
	if err := s.Write(t.Context(), []sinks.Doc{d}); err != nil {
		t.Fatalf("Write of a doc with NUL in its strings: %v", err)
	}
	var id, name, tags, attrs string
	err := pool.QueryRow(t.Context(), "SELECT id, name, tags::text, attrs::text FROM v").Scan(&id, &name, &tags, &attrs)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{id, name, tags, attrs}
	want := []string{"k\uFFFD", "a\uFFFDb", "{t\uFFFD}", `{"k` + "\uFFFD" + `": "x` + "\uFFFD" + `y", "list": ["` + "\uFFFD" + `"]}`}
	if !slices.Equal(got, want) {
		t.Errorf("stored %q, want %q", got, want)
	}
}
