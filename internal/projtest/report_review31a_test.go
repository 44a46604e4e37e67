package projtest

import (
	"strings"
	"testing"
)

// r31aCfg has a view keyed by text (any string is an id) with a jsonb
// field (any string is a key).
const r31aCfg = head + `sources:
  notes:
    topic: app.public.notes
    key: id
    columns: { id: text, meta: jsonb }
views:
  note_view:
    from: notes
    fields: { id: id, meta: meta }
    sinks: { postgres: { table: note_view } }
`

// TestReview31aPrintedMergeKeyPastesBack: README says --print shows a
// case's documents "as expect: and absent: sections ... to start a case
// from", and a failure the document "as YAML ... to paste into the case".
// A jsonb key or a text id "<<" is printed plain; read back, a plain <<
// is YAML's merge key (yaml.v3 tags it !!merge wherever it stands), so
// the pasted case is a malformed file (the jsonb key) or expects other
// documents (the id). text() quotes what would read as something else
// ("1", "true", "null") but not this.
func TestReview31aPrintedMergeKeyPastesBack(t *testing.T) {
	for _, tc := range []struct{ name, given string }{{
		name:  "a jsonb key <<",
		given: "      - { source: notes, after: { id: n1, meta: { \"<<\": 1 } } }\n",
	}, {
		name:  "a text id <<",
		given: "      - { source: notes, after: { id: \"<<\", meta: { a: 1 } } }\n",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			_, res := s17Run(t, r31aCfg, "  - name: print\n    given:\n"+tc.given+"    absent: { note_view: [\"zz\"] }\n")
			if res == nil || len(res.Cases) != 1 {
				t.Fatalf("result %v", res)
			}
			_, sections, _ := strings.Cut(res.Cases[0].String(), "documents:\n")
			out, res := s17Run(t, r31aCfg, "  - name: pasted\n    given:\n"+tc.given+sections+"\n")
			if res == nil || res.Passed != 1 {
				t.Errorf("the printed documents as expectations:\n%s\ngive:\n%s", sections, out)
			}
		})
	}
}

// TestReview31aMissingNamesTheEmptyID: a missing document names the ids
// the view holds instead, joined bare: the empty id, which a text key may
// be (the query API serves it), shows as nothing at all, "(note_view
// holds , n1)", and an id holding ", " reads as two. The ids must be told
// apart as a case writes them (quoted).
func TestReview31aMissingNamesTheEmptyID(t *testing.T) {
	out, _ := s17Run(t, r31aCfg, `  - name: missing
    given:
      - { source: notes, after: { id: "", meta: { a: 1 } } }
      - { source: notes, after: { id: "a, b", meta: { a: 1 } } }
    expect:
      note_view:
        n1: {}
`)
	if strings.Contains(out, "holds , ") || strings.Contains(out, "holds a, b") || !strings.Contains(out, `""`) {
		t.Errorf("the ids the view holds are not told apart:\n%s", out)
	}
}
