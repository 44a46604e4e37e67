package config

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestErrors(t *testing.T) {
	var errs Errors
	if errs.Err() != nil {
		t.Fatal("Err() of no errors is not nil")
	}
	errs.Add(Pos{File: "b.yml", Line: 1, Col: 1}, "in b")
	errs.Add(Pos{File: "a.yml", Line: 10, Col: 2}, "second %d", 2)
	errs.Add(Pos{File: "a.yml", Line: 2, Col: 9}, "first")
	errs.Add(Pos{File: "a.yml", Line: 10, Col: 2}, "second %d", 2) // an anchor reported twice
	errs.Add(Pos{File: "a.yml", Line: 10, Col: 2}, "same place, added later")
	errs.Add(Pos{File: "a.yml"}, "no position")
	err := errs.Err()
	const want = "a.yml:1:1: no position\n" +
		"a.yml:2:9: first\n" +
		"a.yml:10:2: second 2\n" +
		"a.yml:10:2: same place, added later\n" +
		"b.yml:1:1: in b"
	if err.Error() != want {
		t.Errorf("Error() =\n%s\nwant\n%s", err, want)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Error("errors.Is(err, ErrInvalid) is false")
	}
	var got Errors
	if !errors.As(err, &got) || len(got) != 5 {
		t.Errorf("errors.As gave %d errors, want 5", len(got))
	}
	if len(errs) != 6 {
		t.Errorf("Err() changed the receiver: %d errors left, want 6", len(errs))
	}
}

func TestPosString(t *testing.T) {
	tests := []struct {
		pos  Pos
		want string
	}{
		{Pos{File: "p.yml", Line: 3, Col: 7}, "p.yml:3:7"},
		{Pos{Line: 3, Col: 7}, "3:7"},
	}
	for _, tt := range tests {
		if got := tt.pos.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.pos, got, tt.want)
		}
	}
}

// TestSyntaxErrorLines: a YAML syntax error names the line it is on, for
// libyaml's parser errors too, which yaml.v3 numbers from 0.
func TestSyntaxErrorLines(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"scanner", "version: 1\nkafka: { brokers: x }\nsources:\n  a: b: c\n", "s.yml:4:1: invalid YAML: mapping values are not allowed in this context"},
		{"flow sequence left open", "version: 1\nkafka: { brokers: x }\nsources:\n  a:\n    key: [a, b\n", "s.yml:5:1: invalid YAML: did not find expected ',' or ']'"},
		{"key indented wrong", "version: 1\nkafka:\n  brokers: x\n group: g\n", "s.yml:4:1: invalid YAML: did not find expected key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("s.yml", []byte(tc.text), func(string) (string, bool) { return "", false })
			if err == nil || err.Error() != tc.want {
				t.Errorf("error %v, want %s", err, tc.want)
			}
		})
	}
}

// A problem quoting a huge value of the file is cut, at a character's
// end, and says how much it left out: an alias can repeat such a problem
// in thousands of places.
func TestLongMessageIsCut(t *testing.T) {
	var errs Errors
	errs.Add(Pos{File: "f.yaml", Line: 2, Col: 3}, "unknown source %q", strings.Repeat("é", 10_000))
	msg := errs[0].Msg
	if len(msg) > maxMessage+40 || !strings.HasSuffix(msg, " bytes more)") || !utf8.ValidString(msg) {
		t.Errorf("message of %d bytes, ending %q; want at most %d bytes of it, cut at a character, saying how much more", len(msg), msg[len(msg)-30:], maxMessage)
	}
	errs.Add(Pos{}, "short %d", 1)
	if errs[1].Msg != "short 1" {
		t.Errorf("short message = %q", errs[1].Msg)
	}
}

// Two problems at one place, repeated in turn (an anchor used twice), are
// reported once each, in the order first reported.
func TestErrDropsEveryDuplicate(t *testing.T) {
	var errs Errors
	at := Pos{File: "f.yaml", Line: 3, Col: 5}
	for range 2 {
		errs.Add(at, "problem X")
		errs.Add(at, "problem Y")
	}
	got := errs.Err().Error()
	if want := "f.yaml:3:5: problem X\nf.yaml:3:5: problem Y"; got != want {
		t.Errorf("Err() = %q, want %q", got, want)
	}
}
