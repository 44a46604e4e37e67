package config

import (
	"errors"
	"strings"
	"testing"
)

// Found by FuzzR36DParseWith (input "{"). A flow collection opened on the
// first line and left open at the end of a file with no final newline (a
// JSON configuration cut short) is reported on the line after the file's
// last: yaml.v3 names the end of the stream when the construct began on
// its line 0, libyaml puts that end on a new line, and YAMLSyntaxError's
// one-line correction of parser errors comes on top. An editor cannot go
// to f.yml:3:1 in a file of two lines.
func TestR36DSyntaxErrorAtEndOfFileIsInTheFile(t *testing.T) {
	for _, data := range []string{"{", "{\"version\": 1,\n \"kafka\": {\"brokers\": \"k:9092\"}", "version: 1\nkafka: { brokers: [a"} {
		_, err := Parse("f.yml", []byte(data), lookupTestEnv)
		var errs Errors
		if !errors.As(err, &errs) {
			t.Fatalf("%q: Parse = %v, want Errors", data, err)
		}
		lines := strings.Count(data, "\n") + 1
		for _, e := range errs {
			if e.Pos.Line > lines {
				t.Errorf("%q (%d lines): problem on line %d: %v", data, lines, e.Pos.Line, e)
			}
		}
	}
}
