package debezium

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestJSONText: the escapes jsonb refuses become U+FFFD, everything else
// is kept byte for byte.
func TestJSONText(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"a": 1}`, `{"a": 1}`},
		{`{"a": "x\u0000y"}`, `{"a": "x\ufffdy"}`},
		{`{"a": "\\u0000"}`, `{"a": "\\u0000"}`},                     // an escaped backslash, then text
		{`["\ud83d\ude00", "\u00e9"]`, `["\ud83d\ude00", "\u00e9"]`}, // a pair and a plain escape
		{`["\ud83d", "\ude00x", "\uD83Dz"]`, `["\ufffd", "\ufffdx", "\ufffdz"]`},
		{`"\ud83d\u0041"`, `"\ufffd\u0041"`},
		{`{"\u0000": "\n\t\""}`, `{"\ufffd": "\n\t\""}`},
	}
	for _, c := range cases {
		got, err := jsonText([]byte(c.in))
		if err != nil {
			t.Fatalf("jsonText(%s): %v", c.in, err)
		}
		if string(got) != c.want {
			t.Errorf("jsonText(%s) = %s, want %s", c.in, got, c.want)
		}
		if !json.Valid(got) {
			t.Errorf("jsonText(%s) = %s is not JSON", c.in, got)
		}
	}
}

// TestNumericFits: a number jsonb cannot hold makes the Json column's
// value an error, as PostgreSQL says: it would refuse the whole row (and
// its batch) on every retry.
func TestNumericFits(t *testing.T) {
	lits := []string{
		"0", "-0", "1", "1.5", "-12.25e3", "1e999999", "1e131071", "1e131072", "-1e131071",
		"1e-16383", "1e-16384", "1e-99999", "0e999999", "0.0e-99999", "1.5e131071", "0e99999999999",
		"0e-99999", "0e-16383", "0e-16384", "100e131069", "100e131070", "0.001e131074", "0.001e131075",
		"1234.5678e-16379", "1234.5678e-16380", "1E+131071", "1E+131072", "1e1073741823", "0e1073741823",
		"0e1073741822", "0e1073741824", "0e-0000000000000000000001", "0e-1073741823",
	}
	pool, _ := testenv.Postgres(t)
	for _, lit := range lits {
		var n int
		err := pool.QueryRow(context.Background(), `SELECT length(($1::text)::jsonb::text)`, `{"a":`+lit+`}`).Scan(&n)
		if got, want := numericFits([]byte(lit)), err == nil; got != want {
			t.Errorf("numericFits(%s) = %v; PostgreSQL: %v", lit, got, err)
		}
	}
	if _, err := jsonText([]byte(`{"ok": "1e999999", "n": [1, {"x": 1e999999}]}`)); err == nil {
		t.Error("jsonText of a number beyond numeric: no error")
	}
	if _, err := jsonText([]byte(`{"ok": "1e999999 \" 1e999999", "n": 1e5}`)); err != nil {
		t.Errorf("jsonText of a number within numeric, and huge ones in strings: %v", err)
	}
}
