package projtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// s17Cfg has a view of every kind of value a document shows: numbers,
// decimals, text, arrays, jsonb objects, a joined object and a list of
// joined rows; and a where, which deletes a document.
const s17Cfg = head + `sources:
  orders:
    topic: shop.public.orders
    key: id
    columns: { id: bigint, user_id: text, status: text, total: "numeric(10,2)", tags: "text[]", meta: jsonb }
  users:
    topic: shop.public.users
    key: id
    columns: { id: text, name: text }
  items:
    topic: shop.public.items
    key: id
    columns: { id: bigint, order_id: bigint, qty: integer }
views:
  order_view:
    from: orders
    where: status != "cancelled"
    fields:
      id: id
      status: status
      total: total
      tags: tags
      meta: meta
      customer: { one: users, on: { id: user_id }, fields: { name: name } }
      items: { many: items, on: { order_id: id }, order_by: id, fields: { id: id, qty: qty } }
    sinks: { postgres: { table: order_view } }
`

// s17Run writes cfg and a test file of cases and runs them; it returns
// what projector test prints of the file, its directory written "DIR",
// and the Result.
func s17Run(t *testing.T, cfg, cases string) (string, *Result) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "projector.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	tf := filepath.Join(dir, "t.yaml")
	if err := os.WriteFile(tf, []byte("config: projector.yaml\ncases:\n"+cases), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Parse(tf)
	if err == nil {
		var res *Result
		if res, err = Run(context.Background(), f); err == nil {
			var lines []string
			for _, fl := range Sorted(res.Failures) {
				lines = append(lines, fl.String())
			}
			return strings.ReplaceAll(strings.Join(lines, "\n"), dir, "DIR"), res
		}
	}
	return strings.ReplaceAll(err.Error(), dir, "DIR"), nil
}

// A failure shows, after the doc's mismatched fields at their lines, the
// whole document the engine computed, once, as YAML to paste under the
// view in expect:. Keys are sorted; mappings and lists of scalars take one
// line; text that would read as something else is quoted. A missing doc
// names the ids the view holds instead, or that the engine deleted it.
func TestS17FailureShowsActualDocument(t *testing.T) {
	given := `    given:
      - { source: users, after: { id: u1, name: Bob } }
      - { source: orders, after: { id: 1, user_id: u1, status: paid, total: "10", tags: [b, a], meta: { gift: true, note: "007" } } }
      - { source: items, after: { id: 11, order_id: 1, qty: 2 } }
`
	doc1 := `    actual order_view doc 1:
      "1":
        customer: {name: Bob}
        id: 1
        items:
          - {id: 11, qty: 2}
        meta: {gift: true, note: "007"}
        status: paid
        tags: [b, a]
        total: "10.00"`
	for _, tc := range []struct {
		name, expect, want string
	}{{
		name: "fields of a block doc",
		expect: `    expect:
      order_view:
        "1":
          customer: { name: Ada }
          total: 10.01
`,
		want: `DIR/t.yaml:11: case "fields of a block doc": view order_view doc 1: field customer.name = "Bob", want "Ada"
DIR/t.yaml:12: case "fields of a block doc": view order_view doc 1: field total = "10.00", want 10.01
` + doc1,
	}, {
		name: "a flow doc, the doc once after its last failure",
		expect: `    expect:
      order_view: { "1": { status: shipped, items: [{ qty: 3 }], tags: [a, b] } }
`,
		want: `DIR/t.yaml:9: case "a flow doc, the doc once after its last failure": view order_view doc 1: field status = "paid", want "shipped"
DIR/t.yaml:9: case "a flow doc, the doc once after its last failure": view order_view doc 1: field items[0].qty = 2, want 3
DIR/t.yaml:9: case "a flow doc, the doc once after its last failure": view order_view doc 1: field tags[0] = "b", want "a"
DIR/t.yaml:9: case "a flow doc, the doc once after its last failure": view order_view doc 1: field tags[1] = "a", want "b"
` + doc1,
	}, {
		name: "a missing field",
		expect: `    expect:
      order_view:
        "1":
          statsu: paid
`,
		want: `DIR/t.yaml:11: case "a missing field": view order_view doc 1: field statsu missing, want "paid"
` + doc1,
	}, {
		name: "a doc of another id",
		expect: `    expect:
      order_view:
        "2": {}
`,
		want: `DIR/t.yaml:10: case "a doc of another id": view order_view doc 2: missing, want a document (order_view holds "1")`,
	}, {
		name: "present, want absent",
		expect: `    absent:
      order_view: ["1"]
`,
		want: `DIR/t.yaml:9: case "present, want absent": view order_view doc 1: present, want absent
` + doc1,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := s17Run(t, s17Cfg, "  - name: "+tc.name+"\n"+given+tc.expect)
			if got != tc.want {
				t.Errorf("output:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// A missing doc says what the engine tells of it: that it deleted it
// (here its row stopped matching the view's where), or that the view
// holds no doc at all, or these ids (numbers by value, the first ten).
func TestS17MissingDocSaysWhatTheViewHolds(t *testing.T) {
	var many strings.Builder
	for _, id := range []string{"12", "3", "1", "11", "2", "10", "4", "5", "6", "7", "8", "9"} {
		many.WriteString("      - { source: orders, after: { id: " + id + ", status: paid } }\n")
	}
	for _, tc := range []struct {
		name, given, want string
	}{{
		name: "deleted",
		given: `      - { source: orders, after: { id: 1, status: paid } }
      - { source: orders, op: u, after: { id: 1, status: cancelled } }
`,
		want: `DIR/t.yaml:9: case "deleted": view order_view doc 1: missing (deleted: its rows are gone or outside the view's where), want a document`,
	}, {
		name:  "an empty view",
		given: "      - { source: users, after: { id: u1, name: Ada } }\n",
		want:  `DIR/t.yaml:8: case "an empty view": view order_view doc 1: missing, want a document (order_view holds none)`,
	}, {
		name:  "ids by value",
		given: strings.ReplaceAll(many.String(), "id: 1,", "id: 13,"),
		want:  `DIR/t.yaml:19: case "ids by value": view order_view doc 1: missing, want a document (order_view holds "2", "3", "4", "5", "6", "7", "8", "9", "10", "11" and 2 more)`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := s17Run(t, s17Cfg, "  - name: "+tc.name+"\n    given:\n"+tc.given+"    expect:\n      order_view:\n        \"1\": {}\n")
			if got != tc.want {
				t.Errorf("output:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// Result.Cases, which projector test --print shows, is every case's docs
// at the case's line, as expect: and absent: sections indented as a
// case's keys: views and ids sorted (numbers by value), a doc the case
// deleted under absent:, a case that leaves none said to.
func TestS17CaseDocs(t *testing.T) {
	_, res := s17Run(t, s17Cfg, `  - name: two orders
    given:
      - { source: orders, after: { id: 10, status: paid, total: 1.5, meta: { a: [1, { b: null }] } } }
      - { source: orders, after: { id: 9, status: "true", tags: [] } }
      - { source: orders, after: { id: 2, status: paid } }
      - { source: orders, op: u, after: { id: 2, status: cancelled } }
    absent:
      order_view: ["2"]
  - name: nothing
    given:
      - { source: users, after: { id: u1, name: Ada } }
    absent:
      order_view: ["1"]
`)
	want := []string{`DIR/t.yaml:3: case "two orders": documents:
    expect:
      order_view:
        "9":
          customer: null
          id: 9
          items: []
          meta: null
          status: "true"
          tags: []
          total: null
        "10":
          customer: null
          id: 10
          items: []
          meta:
            a:
              - 1
              - {b: null}
          status: paid
          tags: null
          total: "1.50"
    absent:
      order_view: ["2"]`,
		`DIR/t.yaml:11: case "nothing": no documents`,
	}
	if res == nil || len(res.Cases) != len(want) {
		t.Fatalf("cases %v, want %d", res, len(want))
	}
	for i, w := range want {
		if got := strings.ReplaceAll(res.Cases[i].String(), filepath.Dir(res.Cases[i].File), "DIR"); got != w {
			t.Errorf("case %d:\n%s\nwant:\n%s", i, got, w)
		}
	}
}

// What --print shows of a case, pasted into it as its expectations,
// passes: the output is a case's YAML, values as the comparison reads
// them back (text that looks like a number or a boolean stays text,
// control characters and line breaks escaped, not raw on a terminal).
func TestS17PrintedDocsPasteBack(t *testing.T) {
	for _, tc := range []struct{ name, given string }{{
		name: "values of every kind",
		given: `      - { source: users, after: { id: u1, name: "null" } }
      - { source: orders, after: { id: 1, user_id: u1, status: "1e2", total: "0.10", tags: ["", "yes", "a: b"], meta: { n: 1.50, x: [true, "1"] } } }
      - { source: items, after: { id: 11, order_id: 1, qty: -3 } }
      - { source: orders, after: { id: 2, user_id: "007", status: "two\nlines\u001b[31m", meta: '"text"' } }
      - { source: orders, after: { id: 3, status: cancelled } }
`,
	}, {
		name: "a doc deleted",
		given: `      - { source: orders, after: { id: 1, status: paid } }
      - { source: orders, op: d, before: { id: 1 } }
`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			_, res := s17Run(t, s17Cfg, "  - name: print\n    given:\n"+tc.given+"    absent: { order_view: [\"99\"] }\n")
			if res == nil || len(res.Cases) != 1 {
				t.Fatalf("result %v", res)
			}
			printed := res.Cases[0].String()
			if strings.ContainsRune(printed, '\x1b') {
				t.Errorf("a control character is printed raw:\n%s", printed)
			}
			_, sections, _ := strings.Cut(printed, "documents:\n")
			out, res := s17Run(t, s17Cfg, "  - name: pasted\n    given:\n"+tc.given+sections+"\n")
			if res == nil || res.Passed != 1 {
				t.Errorf("the printed documents as expectations:\n%s\ngive:\n%s", sections, out)
			}
		})
	}
}
