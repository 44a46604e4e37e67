package projtest

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestR27jSyntaxErrorWithoutYAMLLine: README ("Testing your views"):
// exit 2 for a malformed file, "reported at its file:line:col (YAML syntax
// errors included)". yaml.v3 leaves out "line N:" when a scanner error is
// on the file's first line (its marks are zero-based, 0 meaning none) and
// for every reader error (a control character, bad UTF-8, wherever it
// is); syntaxError then reports the file alone, with no line or column.
func TestR27jSyntaxErrorWithoutYAMLLine(t *testing.T) {
	for name, doc := range map[string]string{
		"reserved indicator": "@config: ../projector.yaml\ncases: []\n",
		"tab indent":         "\tconfig: ../projector.yaml\ncases: []\n",
		"control character":  "config: a\x01b\ncases: []\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cases.yaml")
			if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Parse(path)
			if err == nil {
				t.Fatal("Parse accepts a file that is no YAML")
			}
			if !regexp.MustCompile(regexp.QuoteMeta(path) + `:\d+:\d+: `).MatchString(err.Error()) {
				t.Errorf("error %q is not at file:line:col", err)
			}
		})
	}
}
