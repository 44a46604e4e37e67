package projtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// r33mRun writes cfg as projector.yaml and body as t.yaml in a fresh
// directory, then parses and runs t.yaml as `projector test` does. It
// returns the Result (nil when the file did not run) and the error.
func r33mRun(t *testing.T, cfg, body string) (*Result, error) {
	t.Helper()
	dir := t.TempDir()
	if cfg != "" {
		if err := os.WriteFile(filepath.Join(dir, "projector.yaml"), []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tf := filepath.Join(dir, "t.yaml")
	if err := os.WriteFile(tf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Parse(tf)
	if err != nil {
		return nil, err
	}
	return Run(context.Background(), f)
}

const r33mIDCfg = head + `sources:
  ev:
    topic: db.public.ev
    key: id
    columns: { id: bigint, at: timestamptz, ok: boolean }
views:
  ev_view:
    from: ev
    fields: { id: id, at: at }
    sinks: { postgres: {} }
  by_at:
    from: ev
    group_by: at
    fields: { at: at, n: { agg: count } }
    sinks: { postgres: {} }
  by_ok:
    from: ev
    group_by: ok
    fields: { ok: ok, n: { agg: count } }
    sinks: { postgres: {} }
`

// README, Testing your views: "An id in `expect:` and `absent:` is written
// as `projector query` takes it: ... it names the document whose id values
// are equal". projector query reads a timestamptz id in any offset (it
// canonicalises it to UTC, internal/query/values.go parseValue) and a
// boolean id as t/yes/TRUE, so `projector query by_at
// 2024-06-01T02:00:00+02:00` returns the document 2024-06-01T00:00:00Z.
// projtest compares such ids as exact text (ids.go sameIDValue), so the
// case below, whose absent: names documents the views hold, PASSES: a CI
// is green on a view that has the document the case says it must not.
func TestReview33mAbsentIDAsQueryTakesIt(t *testing.T) {
	res, err := r33mRun(t, r33mIDCfg, `config: projector.yaml
cases:
  - name: the documents are there
    given:
      - { source: ev, after: { id: 1, at: "2024-06-01T00:00:00Z", ok: true } }
    absent:
      by_at: ["2024-06-01T02:00:00+02:00"]
      by_ok: ["yes"]
`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range res.Failures {
		got = append(got, f.String())
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{"t.yaml:7:", "t.yaml:8:"} {
		if !strings.Contains(all, want) {
			t.Errorf("no failure at %s for an absent id naming a document the view holds (as projector query reads the id); passed=%d failures:\n%s", want, res.Passed, all)
		}
	}
}

// README: an id "is written as `projector query` takes it". projector
// query refuses an id that is no value of its field's type ("abc", or
// YAML's 0x10, for a bigint id: "id field id: not a bigint"), so such an
// id names no document at all, and an absent: of it can never fail. The
// case below is accepted and PASSES although document 16 is there; it
// should be a malformed file (exit 2) reported at the id, as an id that is
// not a JSON array for a composite id already is.
func TestReview33mAbsentIDQueryRefusesIsMalformed(t *testing.T) {
	res, err := r33mRun(t, r33mIDCfg, `config: projector.yaml
cases:
  - name: ids that are no bigint
    given:
      - { source: ev, after: { id: 16, at: "2024-06-01T00:00:00Z", ok: true } }
    absent:
      ev_view: [abc, 0x10]
`)
	if !errors.Is(err, ErrMalformed) {
		passed := -1
		if res != nil {
			passed = res.Passed
		}
		t.Fatalf("ids that projector query refuses for a bigint id were accepted (passed=%d, err=%v); want a malformed file naming t.yaml:7", passed, err)
	}
	if !strings.Contains(err.Error(), "t.yaml:7:") {
		t.Errorf("error %q is not at the id's line t.yaml:7", err)
	}
}
