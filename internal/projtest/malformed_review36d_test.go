package projtest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const r36dCfg = head + `sources:
  posts:
    topic: db.public.posts
    key: id
    columns: { id: bigint, title: text }
views:
  post_view:
    from: posts
    fields: { id: id, title: title }
    sinks: { postgres: {} }
`

// r36dParse writes the config and the test file t.yaml in a fresh
// directory and parses the test file as `projector test` does.
func r36dParse(t *testing.T, cfg, cases string) error {
	t.Helper()
	dir := t.TempDir()
	if cfg != "" {
		if err := os.WriteFile(filepath.Join(dir, "projector.yaml"), []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "t.yaml")
	if err := os.WriteFile(path, []byte(cases), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Parse(path)
	if err == nil {
		_, err = Run(t.Context(), f)
	}
	if err == nil {
		return nil
	}
	return r36dRenamed{err, strings.ReplaceAll(err.Error(), path, "t.yaml")}
}

// r36dRenamed is an error with the test file's path shortened to t.yaml.
type r36dRenamed struct {
	err error
	msg string
}

func (r r36dRenamed) Error() string { return r.msg }
func (r r36dRenamed) Unwrap() error { return r.err }

func r36dWantAt(t *testing.T, err error, at ...string) {
	t.Helper()
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v, want a malformed file", err)
	}
	for _, a := range at {
		if !strings.Contains(err.Error(), a) {
			t.Errorf("no problem reported at %s; got:\n%v", a, err)
		}
	}
}

// README, Testing your views: a malformed file's "every problem (an
// unknown source, topic or view included) is reported at its
// file:line:col". An unknown key at the top of the file stops the reading
// of the file's other keys: the cases after it are never read, so their
// unknown source is not reported.
func TestR36DUnknownTopKeyHidesTheCases(t *testing.T) {
	err := r36dParse(t, r36dCfg, `config: projector.yaml
confg: x
cases:
  - name: typo
    given:
      - { source: post, after: { id: 1 } }
    absent:
      post_view: ["1"]
`)
	r36dWantAt(t, err, "t.yaml:2:1: ", "t.yaml:6:19: ")
}

// The same inside a case: an unknown key (a typo of expect) stops the
// reading of the case, so the unknown source of its given records and
// the unknown view after it go unreported until the typo is fixed.
func TestR36DUnknownCaseKeyHidesTheRestOfTheCase(t *testing.T) {
	err := r36dParse(t, r36dCfg, `config: projector.yaml
cases:
  - name: typo
    expct: {}
    given:
      - { source: post, after: { id: 1 } }
    absent:
      post_vew: ["1"]
`)
	r36dWantAt(t, err, "t.yaml:4:5: ", "t.yaml:6:19: ", "t.yaml:8:7: ")
}

// An empty test file (or one of comments only) is reported at "t.yaml:1:"
// with no column (errf of a node without one), where every other problem
// of a malformed file, and validate's "the file is empty", have theirs.
func TestR36DEmptyFileAtLineAndColumn(t *testing.T) {
	for _, data := range []string{"", "# cases to come\n"} {
		err := r36dParse(t, r36dCfg, data)
		r36dWantAt(t, err, "t.yaml:1:1: ")
	}
}
