package projections_test

import (
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
)

// r13cDraft runs what `projector validate` runs: ParseDraft, then
// CompileDraft with the file's problems.
func r13cDraft(t *testing.T, views string) string {
	t.Helper()
	cfg, problems := config.ParseDraft("t.yaml", []byte(viewsHead+strings.TrimPrefix(views, "\n")), lookup)
	_, err := projections.CompileDraft(cfg, problems)
	if err == nil {
		t.Fatal("no error")
	}
	return err.Error()
}

// Every problem is reported in one run. A comma-separated list (documented:
// "Lists of names ... are a YAML list or one comma-separated string") gives
// all its items the position of the string, and CompileDraft drops every
// compiler problem "at a place the configuration already has one" as "the
// same mistake seen from the other side". So the compiler's finding about
// one item vanishes when config has one about another item: here the
// index path status.code into a text field, reported when the fields are
// written as a YAML list, is lost when they are written "status.code, nope".
func TestR13cDraftDropsCompilerProblemOfAnotherListItem(t *testing.T) {
	const jsonbPath = `a path needs a jsonb field`
	list := r13cDraft(t, `
  v:
    from: orders
    fields: { id: id, status: status }
    sinks:
      postgres:
        indexes:
          - { fields: [status.code, nope] }
`)
	if !strings.Contains(list, jsonbPath) || !strings.Contains(list, "nope") {
		t.Fatalf("premise: as a YAML list both problems are reported:\n%s", list)
	}
	str := r13cDraft(t, `
  v:
    from: orders
    fields: { id: id, status: status }
    sinks:
      postgres:
        indexes:
          - { fields: "status.code, nope" }
`)
	if !strings.Contains(str, "nope") || !strings.Contains(str, jsonbPath) {
		t.Errorf("as one comma-separated string, one of the two problems is dropped; got:\n%s\nwant both (as with the YAML list):\n%s", str, list)
	}
}

// The same with a Redis index key: config reports the placeholder that
// names no field, the compiler the one that names an object; both are at
// the key's value, and the compiler's is dropped.
func TestR13cDraftDropsCompilerProblemAtSameKey(t *testing.T) {
	const object = `which cannot be part of a key`
	alone := r13cDraft(t, `
  v:
    from: orders
    fields:
      id: id
      customer: { one: users, on: { _id: user_id }, fields: { name: name } }
    sinks:
      redis:
        key: "order:{id}"
        indexes: [{ key: "u:{customer}:orders", score: id }]
`)
	if !strings.Contains(alone, object) {
		t.Fatalf("premise: the object placeholder is reported:\n%s", alone)
	}
	both := r13cDraft(t, `
  v:
    from: orders
    fields:
      id: id
      customer: { one: users, on: { _id: user_id }, fields: { name: name } }
    sinks:
      redis:
        key: "order:{id}"
        indexes: [{ key: "u:{customer}:{nope}", score: id }]
`)
	if !strings.Contains(both, "{nope}") || !strings.Contains(both, object) {
		t.Errorf("with a second, unrelated problem in the same key, the object placeholder is no longer reported; got:\n%s", both)
	}
}
