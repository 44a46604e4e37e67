package debezium

import (
	"encoding/json"
	"testing"
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
		got := jsonText([]byte(c.in))
		if string(got) != c.want {
			t.Errorf("jsonText(%s) = %s, want %s", c.in, got, c.want)
		}
		if !json.Valid(got) {
			t.Errorf("jsonText(%s) = %s is not JSON", c.in, got)
		}
	}
}
