package config

import (
	"testing"

	"gopkg.in/yaml.v3"
)

// TestYAMLSyntaxErrorReaderErrors: a character libyaml's reader refuses
// is reported where it is, its column counted in characters as yaml.v3
// counts a node's ("é" before it on its line is one column).
func TestYAMLSyntaxErrorReaderErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		doc       string
		line, col int
	}{
		"latin-1 byte":         {"a: 1\nb: caf\xe9\n", 2, 7},
		"after a character":    {"a: 1\nb: é\xe9x\n", 2, 5},
		"control character":    {"a: 1\n\nb: a\x07b\n", 3, 5},
		"DEL":                  {"a: \x7f\n", 1, 4},
		"surrogate":            {"a: 1\n  # \xed\xa0\x80\n", 2, 5},
		"overlong":             {"a: \xc0\x80\n", 1, 4},
		"truncated at the end": {"a: 1\nb: \xc3", 2, 4},
	} {
		t.Run(name, func(t *testing.T) {
			var n yaml.Node
			err := yaml.Unmarshal([]byte(tc.doc), &n)
			if err == nil {
				t.Fatal("yaml.v3 reads the file")
			}
			line, col, msg := YAMLSyntaxError(err, []byte(tc.doc))
			if line != tc.line || col != tc.col {
				t.Errorf("%q at %d:%d, want %d:%d", msg, line, col, tc.line, tc.col)
			}
		})
	}
}
