package projtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReaderErrorAtItsLine: a byte that is no UTF-8 or a control
// character, which yaml.v3 reports with no line, is reported at its own
// line and column, not at the file's start.
func TestReaderErrorAtItsLine(t *testing.T) {
	for name, bad := range map[string]string{
		"latin-1 byte":      "caf\xe9",
		"control character": "a\x07b",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cases.yaml")
			doc := "config: ../projector.yaml\ncases:\n  # " + bad + "\n  - name: x\n"
			if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Parse(path)
			if err == nil || !strings.Contains(err.Error(), path+":3:") {
				t.Errorf("Parse: %v, want the error at %s:3:", err, path)
			}
		})
	}
}
