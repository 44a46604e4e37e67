package projtest

import (
	"errors"
	"strings"
	"testing"
)

const r33mCompositeCfg = head + `sources:
  lines:
    topic: db.public.lines
    key: [order_id, line_no]
    columns: { order_id: bigint, line_no: bigint, q: integer }
views:
  line_view:
    from: lines
    fields: { order_id: order_id, line_no: line_no, q: q }
    sinks: { postgres: {} }
`

// README, Testing your views: "2 for a malformed file, whose every
// problem ... is reported at its `file:line:col`". An id of a view with a
// composite id that is not a JSON array is reported as "t.yaml:8: view
// line_view has a composite id ..." and "t.yaml:10: ...": a line without
// its column (run.go check builds &yaml.Node{Line: line}; Expect and
// Absent keep no node of the id), unlike every other problem of the file.
func TestReview33mCompositeIDProblemAtLineAndColumn(t *testing.T) {
	_, err := r33mRun(t, r33mCompositeCfg, `config: projector.yaml
cases:
  - name: ids not written as arrays
    given:
      - { source: lines, after: { order_id: 1, line_no: 2, q: 3 } }
    expect:
      line_view:
        "1": { q: 3 }
    absent:
      line_view: ["2"]
`)
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v, want a malformed file", err)
	}
	for _, want := range []string{"t.yaml:8:9: ", "t.yaml:10:19: "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no problem at %q (file:line:col of the id) in:\n%v", want, err)
		}
	}
}

// README: a malformed file's "every problem ... is reported at its
// `file:line:col`, in the file's order". A config: that names no file is
// not reported when the file has another problem (parse skips the plan
// when loadPlan fails), so the user fixes the unknown key, runs again and
// only then learns of the config; and when it is reported at last it is
// "t.yaml: config .../nope.yaml: open ...: no such file or directory",
// with no line or column (Run wraps loadPlan's error with the path only).
// Both problems should come in one run, the config's at 1:9, where its
// value is written.
func TestReview33mMissingConfigReportedWithTheOthers(t *testing.T) {
	_, err := r33mRun(t, "", `config: nope.yaml
cases:
  - name: a
    given:
      - { source: posts, after: { id: 1 } }
    bogus: 1
    absent:
      post_view: ["1"]
`)
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v, want a malformed file", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "t.yaml:6:5: ") {
		t.Errorf("the unknown key is not reported at t.yaml:6:5:\n%s", msg)
	}
	if !strings.Contains(msg, "t.yaml:1:9: ") || !strings.Contains(msg, "nope.yaml") {
		t.Errorf("the missing config nope.yaml is not reported at t.yaml:1:9 beside the other problem:\n%s", msg)
	}
}
