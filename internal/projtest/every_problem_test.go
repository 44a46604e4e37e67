package projtest

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const everyProblemCfg = head + `sources:
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

// problemsOf parses a test file t.yaml beside the config above and
// returns where each of its problems is, as t.yaml:line:col, in order.
func problemsOf(t *testing.T, cases string) []string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "projector.yaml"), []byte(everyProblemCfg), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "t.yaml")
	if err := os.WriteFile(path, []byte(cases), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Parse(path)
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v, want a malformed file", err)
	}
	var at []string
	for _, line := range strings.Split(strings.ReplaceAll(err.Error(), path, "t.yaml"), "\n") {
		line = strings.TrimPrefix(line, ErrMalformed.Error()+": ")
		if i := strings.Index(line, ": "); i > 0 {
			at = append(at, line[:i])
		}
	}
	return at
}

func wantProblemsAt(t *testing.T, cases string, want ...string) {
	t.Helper()
	if got := problemsOf(t, cases); !slices.Equal(got, want) {
		t.Errorf("problems at %v, want at %v", got, want)
	}
}

// A file is read to its end whatever key it misspells, so one run tells
// every problem; what a misspelt key would have held is not reported
// missing as well.
func TestEveryProblemOfATestFileInOneRun(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		want       []string
	}{{
		name: "an unknown key at the top, the cases after it",
		file: `config: projector.yaml
confg: x
cases:
  - name: a
    given:
      - { source: post, after: { id: 1 } }
    absent:
      post_view: ["1"]
`,
		want: []string{"t.yaml:2:1", "t.yaml:6:19"},
	}, {
		name: "config misspelt: not also missing",
		file: `confg: projector.yaml
cases:
  - { name: a, absent: { post_view: ["1"] } }
`,
		want: []string{"t.yaml:1:1"},
	}, {
		name: "config not written, and a problem of a case",
		file: `cases:
  - { name: a, expct: {}, absent: { post_view: ["1"] } }
`,
		want: []string{"t.yaml:1:1", "t.yaml:2:16"},
	}, {
		name: "an unknown key in a case, the rest of the case after it",
		file: `config: projector.yaml
cases:
  - name: a
    expct: {}
    given:
      - { source: post, after: { id: 1 } }
    absent:
      post_vew: ["1"]
`,
		want: []string{"t.yaml:4:5", "t.yaml:6:19", "t.yaml:8:7"},
	}, {
		name: "expect misspelt: the case is not also one that expects nothing",
		file: `config: projector.yaml
cases:
  - name: a
    expct: { post_view: { "1": {} } }
`,
		want: []string{"t.yaml:4:5"},
	}, {
		name: "a name amiss: the case is not also one without a name",
		file: `config: projector.yaml
cases:
  - name: [a]
    given:
      - { source: post, after: { id: 1 } }
    absent: { post_view: ["1"] }
`,
		want: []string{"t.yaml:3:11", "t.yaml:5:19"},
	}, {
		name: "given not a list, the case's expectations after it",
		file: `config: projector.yaml
cases:
  - name: a
    given: { source: posts, after: { id: 1 } }
    absent: { post_vew: ["1"] }
`,
		want: []string{"t.yaml:4:12", "t.yaml:5:15"},
	}, {
		name: "a record's key misspelt: its source checked, its after not missing",
		file: `config: projector.yaml
cases:
  - name: a
    given:
      - { source: post, aftr: { id: 1 } }
      - { source: posts, after: { id: 1, titel: x } }
    absent: { post_view: ["1"] }
`,
		want: []string{"t.yaml:5:19", "t.yaml:5:25", "t.yaml:6:42"},
	}, {
		name: "a record amiss as a whole: its source checked too",
		file: `config: projector.yaml
cases:
  - name: a
    given:
      - { source: post, op: x, after: { id: 1 } }
    absent: { post_view: ["1"] }
`,
		want: []string{"t.yaml:5:19", "t.yaml:5:29"},
	}, {
		name: "a bad record, and a case that expects nothing",
		file: `config: projector.yaml
cases:
  - name: a
    given:
      - { source: posts, op: x, after: { id: 1 } }
`,
		want: []string{"t.yaml:3:5", "t.yaml:5:30"},
	}, {
		name: "each bad header of a record",
		file: `config: projector.yaml
cases:
  - name: a
    given:
      - { topic: db.public.posts, key: '{"id":1}', value: null, headers: { a: [1], b: {} } }
    absent: { post_view: ["1"] }
`,
		want: []string{"t.yaml:5:79", "t.yaml:5:87"},
	}} {
		t.Run(tc.name, func(t *testing.T) { wantProblemsAt(t, tc.file, tc.want...) })
	}
}

// A file with nothing in it is reported at its start, line and column as
// every other problem.
func TestAnEmptyTestFileIsReportedAtItsStart(t *testing.T) {
	for _, file := range []string{"", "# cases to come\n", "\n\n"} {
		wantProblemsAt(t, file, "t.yaml:1:1")
	}
}
