package projtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// malformed writes a config and a test file and returns why the file
// cannot run; it fails the test when the file runs.
func malformed(t *testing.T, cfg, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "projector.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	tf := filepath.Join(dir, "t.yaml")
	if err := os.WriteFile(tf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Parse(tf)
	if err == nil {
		_, err = Run(context.Background(), f)
	}
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v, want a malformed file", err)
	}
	return strings.TrimPrefix(err.Error(), "malformed test file: "+tf)
}

// Anchors and aliases reuse a row or an expected doc; what an alias
// brings is checked at the alias's line.
func TestYAMLAliases(t *testing.T) {
	expectPass(t, ordersCfg, `  - name: an alias of a row
    given:
      - { source: orders, after: &row { id: 1, user_id: u1, status: paid } }
      - { source: orders, op: u, after: *row }
    expect:
      order_view:
        "1": &doc { status: paid }
  - name: an alias of an expected doc
    given:
      - { source: orders, after: { id: 1, user_id: u1, status: paid } }
    expect:
      order_view:
        "1": *doc
`)
	fails := runCases(t, ordersCfg, `  - name: a doc
    given:
      - { source: orders, after: { id: 1, user_id: u1, status: paid } }
    expect:
      order_view: { "1": &doc { status: paid } }
  - name: reused
    given:
      - { source: orders, after: { id: 1, user_id: u1, status: shipped } }
    expect:
      order_view:
        "1": *doc
`)
	if len(fails) != 1 || !strings.Contains(fails[0], `t.yaml:13: case "reused": view order_view doc 1: field status = "shipped", want "paid"`) {
		t.Errorf("failures %q, want one at the alias's line", fails)
	}
}

// A merge key (<<: *row, or a list of them) takes the columns the
// mapping does not write; the first merged mapping wins over the next.
func TestYAMLMergeKeys(t *testing.T) {
	expectPass(t, ordersCfg, `  - name: a merged row
    given:
      - { source: orders, after: &row { id: 1, user_id: u1, status: paid } }
      - { source: orders, op: u, after: { <<: *row, status: shipped } }
    expect:
      order_view: { "1": { id: 1, user_id: u1, status: shipped } }
  - name: merged rows
    given:
      - { source: orders, after: { <<: [&a { id: 2, status: paid }, { id: 3, user_id: u2, status: x }] } }
    expect:
      order_view: { "2": { <<: *a, user_id: u2 } }
`)
}

// A file that cannot be read as intended is malformed, at its line.
func TestMalformedFiles(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"duplicate key", "config: projector.yaml\ncases:\n  - name: x\n    given: []\n    absent: { order_view: [\"1\"] }\n    absent: { order_view: [\"2\"] }\n",
			`:6:5: key "absent" written twice`},
		{"second document", "config: projector.yaml\ncases:\n  - { name: x, absent: { order_view: [\"1\"] } }\n---\ncases: []\n",
			":4:1: a second YAML document"},
		{"list as name", "config: projector.yaml\ncases:\n  - name: [x]\n    absent: { order_view: [\"1\"] }\n",
			":3:11: name: want a single value, not a list"},
		{"mapping as source", "config: projector.yaml\ncases:\n  - name: x\n    given:\n      - { source: { a: b }, after: { id: 1 } }\n    absent: { order_view: [\"1\"] }\n",
			":5:19: source: want a single value, not a mapping"},
		{"op of a raw record", "config: projector.yaml\ncases:\n  - name: x\n    given:\n      - topic: shop.public.orders\n        key: { id: 1 }\n        value: { op: c, after: { id: 1 } }\n        op: u\n    absent: { order_view: [\"1\"] }\n",
			":8:9: op belongs to a short record"},
		{"after of a raw record", "config: projector.yaml\ncases:\n  - name: x\n    given:\n      - { topic: shop.public.orders, value: null, after: { id: 1 } }\n    absent: { order_view: [\"1\"] }\n",
			":5:51: after belongs to a short record"},
		{"key of a short record", "config: projector.yaml\ncases:\n  - name: x\n    given:\n      - { source: orders, key: { id: 1 }, after: { id: 1 } }\n    absent: { order_view: [\"1\"] }\n",
			":5:27: key belongs to a Debezium record"},
		{"unknown topic", "config: projector.yaml\ncases:\n  - name: x\n    given:\n      - { topic: shop.pubic.orders, key: { id: 1 }, value: { op: c, after: { id: 1 } } }\n    absent: { order_view: [\"2\"] }\n",
			`:5:18: unknown topic "shop.pubic.orders": no source reads it (known: shop.public.orders)`},
		{"alias cycle", "config: projector.yaml\ncases: &c\n  - name: x\n    given: *c\n    absent: { order_view: [\"1\"] }\n",
			":4:12: alias *c refers to a node that contains it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := malformed(t, ordersCfg, tc.body); !strings.HasPrefix(got, tc.want) {
				t.Errorf("error %q, want it to start with %q", got, tc.want)
			}
		})
	}
}
