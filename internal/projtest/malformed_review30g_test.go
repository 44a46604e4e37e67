package projtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const r30gCfg = head + `sources:
  posts:
    topic: blog.public.posts
    key: id
    columns: { id: bigint, title: text }
views:
  post_view:
    from: posts
    fields: { id: id, title: title }
    sinks: { postgres: {} }
`

// r30gRun writes a config and a test file and returns the error Parse or
// Run gives.
func r30gRun(t *testing.T, cases string) error {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "projector.yaml"), []byte(r30gCfg), 0o644); err != nil {
		t.Fatal(err)
	}
	tf := filepath.Join(dir, "t.yaml")
	if err := os.WriteFile(tf, []byte(cases), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Parse(tf)
	if err != nil {
		return err
	}
	_, err = Run(context.Background(), f)
	return err
}

// README, Testing your views: a malformed file is "reported at its
// file:line:col". An unknown view in expect: is reported at the line of
// the document id under it (line 8), without a column, not at the view's
// key (7:7).
func TestR30gUnknownViewAtItsKey(t *testing.T) {
	err := r30gRun(t, `config: projector.yaml
cases:
  - name: view typo
    given:
      - { source: posts, after: { id: 1, title: x } }
    expect:
      post_vew:
        "1": { title: x }
`)
	if err == nil {
		t.Fatal("unknown view accepted")
	}
	if !strings.Contains(err.Error(), "t.yaml:7:7: ") {
		t.Errorf("want the unknown view at t.yaml:7:7, got:\n%v", err)
	}
}

// An unknown source of a short record is reported with a line but no
// column (README: file:line:col).
func TestR30gUnknownSourceHasColumn(t *testing.T) {
	err := r30gRun(t, `config: projector.yaml
cases:
  - name: source typo
    given:
      - { source: post, after: { id: 1, title: x } }
    absent:
      post_view: ["1"]
`)
	if err == nil {
		t.Fatal("unknown source accepted")
	}
	if !strings.Contains(err.Error(), "t.yaml:5:19: ") {
		t.Errorf("want the unknown source at t.yaml:5:19 (its value), got:\n%v", err)
	}
}

// validate reports every problem in one run; a malformed test file gives
// only one, so a user fixes typos one run at a time. Here: an unknown
// source (5), a bad op (6), an unknown view (9): only one is reported, and
// not the first one in the file.
func TestR30gEveryMalformedProblemReported(t *testing.T) {
	err := r30gRun(t, `config: projector.yaml
cases:
  - name: typos
    given:
      - { source: post, after: { id: 1 } }
      - { source: posts, op: x, after: { id: 2 } }
    expect:
      post_vew:
        "1": { id: 1 }
`)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, at := range []string{"t.yaml:5:", "t.yaml:6:", "t.yaml:8:"} {
		if !strings.Contains(err.Error(), at) {
			t.Errorf("no problem reported at %s; got:\n%v", at, err)
		}
	}
}
