package projtest

import (
	"strings"
	"testing"
)

// README, Testing your views: a malformed file's "every problem (an
// unknown source, topic or view included) is reported at its
// file:line:col, in the file's order" and "a key written twice is an
// error". A key written twice stops the parse: it is the only problem
// reported, and the unknown source two cases before it (5:19) is not,
// so a user fixes one, runs again, and meets the next (validate reports
// a configuration's duplicate keys beside its other problems).
func TestReview32aDuplicateKeyHidesOtherProblems(t *testing.T) {
	err := r30gRun(t, `config: projector.yaml
cases:
  - name: first
    given:
      - { source: post, after: { id: 1, title: x } }
    absent:
      post_view: ["1"]
  - name: second
    given:
      - { source: posts, after: { id: 2, id: 3, title: y } }
    absent:
      post_view: ["2"]
`)
	if err == nil {
		t.Fatal("malformed file accepted")
	}
	msg := err.Error()
	if !strings.Contains(msg, `t.yaml:10:42: key "id" written twice`) {
		t.Errorf("want the duplicate key at t.yaml:10:42, got:\n%v", msg)
	}
	if !strings.Contains(msg, "t.yaml:5:19: ") {
		t.Errorf("want the unknown source at t.yaml:5:19 reported too, got:\n%v", msg)
	}
}
