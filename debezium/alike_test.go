package debezium

import (
	"fmt"
	"testing"
)

// TestDecodeAlikeSpellings: spellings of one type, and types the decoder
// reads the same way, decode alike; a type holding values to other bounds
// (a width, a scale, a precision, fewer fractional digits) does not, nor
// does a declared column and one not declared.
func TestDecodeAlikeSpellings(t *testing.T) {
	alike := [][2]string{
		{"numeric(10)", "numeric(10,0)"},
		{"numeric(10, 0)", "decimal(10)"},
		{"timestamptz", "timestamptz(6)"},
		{"timestamp", "timestamp(6)"},
		{"time", "time(6)"},
		{"varchar(50)", "varchar(100)"},
		{"varchar", "text"},
		{"json", "jsonb"},
		{"varchar(20)[]", "text[]"},
		{"int8", "bigint"},
		{"", ""},
	}
	unlike := [][2]string{
		{"integer", "bigint"},
		{"smallint", "integer"},
		{"numeric(10,2)", "numeric(12,2)"},
		{"numeric(10,2)", "numeric(10,3)"},
		{"numeric", "numeric(10)"},
		{"timestamp(3)", "timestamp"},
		{"timestamptz(3)", "timestamptz"},
		{"time(0)", "time"},
		{"timestamp", "timestamptz"},
		{"text", "uuid"},
		{"text", "text[]"},
		{"real", "double precision"},
		{"", "text"},
		{"bigint", ""},
		{"no such type", "text"},
	}
	for _, p := range alike {
		if !DecodeAlike(p[0], p[1]) || !DecodeAlike(p[1], p[0]) {
			t.Errorf("%q and %q: not alike, want alike", p[0], p[1])
		}
	}
	for _, p := range unlike {
		if DecodeAlike(p[0], p[1]) || DecodeAlike(p[1], p[0]) {
			t.Errorf("%q and %q: alike, want not", p[0], p[1])
		}
	}
}

// TestDecodeAlikeDecodesTheSameValues: what the decoder makes of a row is
// the same, value for value, under two types it calls alike.
func TestDecodeAlikeDecodesTheSameValues(t *testing.T) {
	for _, tc := range []struct {
		a, b   string
		values []string
	}{
		{"numeric(10)", "numeric(10,0)", []string{`12`, `"12"`, `-7`, `"0"`}},
		{"timestamptz", "timestamptz(6)", []string{`"2024-05-01T10:00:00.123456Z"`, `"2024-05-01T12:00:00.1+02:00"`, `1714557600123`}},
		{"timestamp", "timestamp(6)", []string{`1714557600123456`, `"2024-05-01T10:00:00.123456"`}},
		{"time", "time(6)", []string{`36000123456`, `"10:00:00.123456"`}},
		{"varchar(50)", "text", []string{`"a long enough text, beyond no bound the decoder holds it to"`, `12`, `true`}},
		{"json", "jsonb", []string{`"{\"b\":1,\"a\":[2]}"`, `{"a":1}`}},
	} {
		if !DecodeAlike(tc.a, tc.b) {
			t.Fatalf("%s and %s: not alike", tc.a, tc.b)
		}
		for _, v := range tc.values {
			row := []byte(`{"c":` + v + `}`)
			got := make([]string, 2)
			for i, typ := range []string{tc.a, tc.b} {
				d := mustDecoder(t, Options{Columns: map[string]string{"c": typ}})
				r, err := d.DecodeRow(row)
				got[i] = fmt.Sprintf("%#v %v", r, err)
			}
			if got[0] != got[1] {
				t.Errorf("%s as %s: %s; as %s: %s", v, tc.a, got[0], tc.b, got[1])
			}
		}
	}
}
