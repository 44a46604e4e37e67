package projtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const reviewMongoCfg = head + `sources:
  users:
    topic: shopmongo.shop.users
    key: _id
    columns: { _id: text, name: text }
views:
  user_view:
    from: users
    fields: { id: _id, name: name }
    sinks: { postgres: {} }
`

func reviewMongoRecord(name string, ord int) string {
	return `      - topic: shopmongo.shop.users
        key: { id: '"u1"' }
        value:
          after: '{"_id": "u1", "name": "` + name + `"}'
          source: { connector: mongodb, name: shopmongo, ts_ms: 1762000000000, db: shop, collection: users, ord: ` + string(rune('0'+ord)) + ` }
          op: u
`
}

// A short record's made-up position must not share the space of MongoDB
// positions (oplog second, ord): after a raw record at (T, 1) and two
// short records, the next raw record of the same second, (T, 2), written
// last and newer than every raw record before it, is the newest change,
// not a replay.
func TestShortRecordsDoNotHideNextMongoOrd(t *testing.T) {
	expectPass(t, reviewMongoCfg, `  - name: raw ord 1, two shorts, raw ord 2
    given:
`+reviewMongoRecord("Ada", 1)+`      - { source: users, op: u, after: { _id: u1, name: Bob } }
      - { source: users, op: u, after: { _id: u1, name: Bo } }
`+reviewMongoRecord("Cy", 2)+`    expect:
      user_view: { u1: { name: Cy } }
`)
}

// projector test DIR runs "the files with config: or cases: at their
// top"; a YAML file whose top is a list (an Ansible playbook, a list of
// fixtures) has neither, and is not a test file.
func TestListYAMLIsNotATestFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "playbook.yml")
	if err := os.WriteFile(p, []byte("- hosts: all\n  tasks: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if IsTestFile(p) {
		t.Errorf("IsTestFile(list at top) = true, want false: it has no config: or cases:")
	}
}

// A field missing from the doc whose expected value is a block mapping is
// reported at the field's line, not at the line of the mapping's first
// key.
func TestMissingNestedFieldLine(t *testing.T) {
	fails := runCases(t, reviewMongoCfg, `  - name: typo in a nested field
    given:
      - { source: users, after: { _id: u1, name: Ada } }
    expect:
      user_view:
        u1:
          nmae:
            first: Ada
`)
	if len(fails) != 1 || !strings.Contains(fails[0], "t.yaml:9:") {
		t.Errorf("failures %q, want one at t.yaml:9 (the nmae: line)", fails)
	}
}
