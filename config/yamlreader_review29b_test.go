package config

import (
	"errors"
	"testing"
)

// TestR29bReaderErrorAtItsLine: README: validate reports every problem
// "as file:line:col: message". yaml.v3 names no line for its reader's
// errors (a byte that is no UTF-8, a control character), and
// YAMLSyntaxError then gives line 0, which syntaxError turns into the
// file's 1:1: an editor or CI annotation jumps to the first line while
// the bad byte is lines further down (a Latin-1 "é" pasted into a
// comment of a long configuration). projector test reports them the same
// way (projtest.syntaxError uses YAMLSyntaxError too).
func TestR29bReaderErrorAtItsLine(t *testing.T) {
	for name, bad := range map[string]string{
		"latin-1 byte":      "caf\xe9",
		"control character": "a\x07b",
	} {
		t.Run(name, func(t *testing.T) {
			doc := "version: 1\n" +
				"kafka: { brokers: \"localhost:9092\" }\n" +
				"stores: { postgres: { url: \"postgres://x/y\" } }\n" +
				"sources:\n" +
				"  orders: { topic: t.o, key: id, columns: { id: bigint, status: text } }\n" +
				"views:\n" +
				"  # " + bad + "\n" +
				"  v: { from: orders, fields: { id: id }, sinks: { postgres: {} } }\n"
			_, err := Parse("p.yaml", []byte(doc), func(string) (string, bool) { return "", false })
			var errs Errors
			if !errors.As(err, &errs) || len(errs) != 1 {
				t.Fatalf("Parse: %v, want one error", err)
			}
			if errs[0].Pos.Line != 7 {
				t.Errorf("error %q at line %d, want line 7, where the bad byte is", errs[0].Error(), errs[0].Pos.Line)
			}
		})
	}
}
