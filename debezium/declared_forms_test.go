package debezium

import (
	"errors"
	"fmt"
	"testing"
)

// A declared column reads the same value whatever form the record came
// in: the cases the reviewer's forms_review34d_test.go does not cover.

// TestDeclaredTextKeepsLogicalStrings: a column declared text holds the
// text Debezium wrote for any logical string type, with a schema as
// without one (a Uuid in upper case, a ZonedTimestamp as written, an
// EnumSet's "a,b"), in JSON and Avro alike.
func TestDeclaredTextKeepsLogicalStrings(t *testing.T) {
	for _, c := range []struct{ logical, text string }{
		{"io.debezium.data.Uuid", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"},
		{"io.debezium.time.ZonedTimestamp", "2024-01-02T03:04:05.5+02:00"},
		{"io.debezium.data.EnumSet", "a,b"},
		{"io.debezium.time.ZonedTime", "10:15:30+02:00"},
	} {
		t.Run(c.logical, func(t *testing.T) {
			out := R34dDecodeV(t, R34dColumn{
				decl:     "varchar(64)",
				schema:   `{"type":"string","optional":true,"name":"` + c.logical + `","version":1}`,
				json:     fmt.Sprintf("%q", c.text),
				avroType: `["null",{"type":"string","connect.version":1,"connect.name":"` + c.logical + `"}]`,
				avroVal:  map[string]any{"string": c.text},
			})
			want := fmt.Sprintf("string %q", c.text)
			for _, f := range R34dFormOrder {
				if out[f] != want {
					t.Errorf("want %s in every form:%s", want, R34dShow(out))
					return
				}
			}
		})
	}
}

// TestIntegerColumnDecimalTextSchemaless: a column declared bigint reads
// decimal text without a schema as with one ("12" is 12), while
// Debezium's own integer fields (source.lsn) still take only numbers.
func TestIntegerColumnDecimalTextSchemaless(t *testing.T) {
	d := mustDecoder(t, Options{Columns: map[string]string{"n": "bigint"}})
	ch, err := d.Decode(nil, []byte(`{"op":"c","after":{"n":"12"},"source":{"lsn":12}}`))
	if err != nil {
		t.Fatal(err)
	}
	wantJSON(t, ch.After["n"], `12`)
	_, err = d.Decode(nil, []byte(`{"op":"c","after":{"n":"12"},"source":{"lsn":"12"}}`))
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v, want a malformed source.lsn", err)
	}
}

// TestIntegerColumnDecimalTextMongo: a MongoDB string in a column declared
// bigint reads as the relational forms read decimal text, in the envelope
// (Extended JSON) as after ExtractNewDocumentState.
func TestIntegerColumnDecimalTextMongo(t *testing.T) {
	for _, c := range []struct{ text, want string }{{"12.00", "12"}, {"12.50", ""}, {"twelve", ""}} {
		env := mustDecoder(t, Options{Columns: map[string]string{"n": "bigint"}})
		unw := mustDecoder(t, Options{Format: FormatUnwrapped, Columns: map[string]string{"n": "bigint"}})
		forms := map[string]func() (Change, error){
			"envelope": func() (Change, error) {
				return env.Decode([]byte(`{"id":"a"}`), mongoValue("c", `{"_id": "a", "n": "`+c.text+`"}`, "", "", ""))
			},
			"unwrapped": func() (Change, error) {
				return unw.Decode([]byte(`{"id":"a"}`), []byte(`{"_id":"a","n":"`+c.text+`","__op":"c","__source_ts_ms":1700000000000,"__source_ord":1}`))
			},
		}
		for form, decode := range forms {
			ch, err := decode()
			switch {
			case c.want == "" && !errors.Is(err, ErrMalformed):
				t.Errorf("%s %q: err = %v, want malformed", form, c.text, err)
			case c.want != "" && err != nil:
				t.Errorf("%s %q: %v", form, c.text, err)
			case c.want != "":
				wantJSON(t, ch.After["n"], c.want)
			}
		}
	}
}

// TestPlainNumericDoubleMongo: a MongoDB double in a column declared plain
// numeric keeps the scale of the text the Java driver writes for it
// (12.0, 1.0E-7), in the envelope (a float64 read from Extended JSON) as
// after ExtractNewDocumentState (the JSON number as written).
func TestPlainNumericDoubleMongo(t *testing.T) {
	for _, c := range []struct{ lit, want string }{{"12.0", `"12.0"`}, {"1.0E-7", `"0.00000010"`}} {
		env := mustDecoder(t, Options{Columns: map[string]string{"p": "numeric"}})
		unw := mustDecoder(t, Options{Format: FormatUnwrapped, Columns: map[string]string{"p": "numeric"}})
		ch, err := env.Decode([]byte(`{"id":"a"}`), mongoValue("c", `{"_id": "a", "p": `+c.lit+`}`, "", "", ""))
		if err != nil {
			t.Fatal(err)
		}
		wantJSON(t, Exact(ch.After["p"]), c.want)
		ch, err = unw.Decode([]byte(`{"id":"a"}`), []byte(`{"_id":"a","p":`+c.lit+`,"__op":"c","__source_ts_ms":1700000000000,"__source_ord":1}`))
		if err != nil {
			t.Fatal(err)
		}
		wantJSON(t, Exact(ch.After["p"]), c.want)
	}
}

// TestDoubleText: a double as Java's Double.toString writes it.
func TestDoubleText(t *testing.T) {
	for _, c := range []struct {
		f    float64
		want string
	}{
		{0, "0.0"}, {12, "12.0"}, {-12.5, "-12.5"}, {0.001, "0.001"}, {123.456, "123.456"},
		{9999999, "9999999.0"}, {1e7, "1.0E7"}, {12345678, "1.2345678E7"}, {1e-7, "1.0E-7"},
		{0.000999, "9.99E-4"}, {-1.5e300, "-1.5E300"}, {0.1, "0.1"},
	} {
		if got := doubleText(c.f); got != c.want {
			t.Errorf("doubleText(%v) = %s, want %s", c.f, got, c.want)
		}
	}
}
