package projtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const clockConfig = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://unused/x" } }
sources:
  posts: { topic: t.public.posts, key: id, columns: { id: bigint, title: text, published_at: timestamptz } }
views:
  recent:
    from: posts
    where: published_at > now() - duration("720h")
    refresh: 1h
    fields: { id: id, title: title }
    sinks: { postgres: {} }
  unrefreshed:
    from: posts
    where: published_at > now() - duration("720h")
    fields: { id: id }
    sinks: { postgres: {} }
`

func runClockCases(t *testing.T, cases string) (*Result, error) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "projector.yaml"), []byte(clockConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	tf := filepath.Join(dir, "t.yaml")
	if err := os.WriteFile(tf, []byte(cases), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Parse(tf)
	if err != nil {
		return nil, err
	}
	return Run(context.Background(), f)
}

// TestCasesPinTheClock: a case's now: is what now() gives its views, so a
// window over the last 30 days gives the same documents any day; a clock
// step ({ now: … }) moves it and refreshes the views that declare a
// refresh, as the daemon would: the post leaves the view that refreshes,
// and stays in the one that does not.
func TestCasesPinTheClock(t *testing.T) {
	res, err := runClockCases(t, `config: projector.yaml
cases:
  - name: in the window
    now: 2024-06-01T00:00:00Z
    given:
      - { source: posts, after: { id: 1, title: a, published_at: "2024-05-20T00:00:00Z" } }
      - { source: posts, after: { id: 2, title: b, published_at: "2024-04-01T00:00:00Z" } }
    expect:
      recent: { "1": { title: a } }
    absent:
      recent: ["2"]
  - name: out of it after a month
    now: 2024-06-01T00:00:00Z
    given:
      - { source: posts, after: { id: 1, title: a, published_at: "2024-05-20T00:00:00Z" } }
      - now: 2024-07-01T00:00:00Z
    absent:
      recent: ["1"]
    expect:
      unrefreshed: { "1": {} }
`)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 0 || res.Passed != 2 {
		t.Fatalf("passed %d, failed %d: %+v", res.Passed, res.Failed, res.Failures)
	}
}

// TestClockStepAlone: a clock step is an item of its own, and its instant
// a timestamp; each mistake at its line:col.
func TestClockStepAlone(t *testing.T) {
	_, err := runClockCases(t, `config: projector.yaml
cases:
  - name: mixed
    now: tomorrow
    given:
      - { source: posts, after: { id: 1, title: a, published_at: "2024-05-20T00:00:00Z" }, now: 2024-07-01T00:00:00Z }
    absent:
      recent: ["1"]
`)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		`t.yaml:4:10: now: "tomorrow" is no timestamp (want 2024-06-01T12:00:00Z)`,
		`t.yaml:6:92: now: moves the clock, alone in its item (a record has no now)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v\nwant %q", err, want)
		}
	}
}
