package projector_test

import (
	"testing"

	"github.com/projectorhq/projector/projector"
)

// TestReview33jTextSliceCountsCharacters: len() of text counts characters
// (expr-lang's utf8.RuneCountInString), but a slice of text (name[0:2],
// name[:len(name)]) cuts bytes (reflect's Value.Slice on the string), so
// it splits a multi-byte character, and the half-character left is written
// as U+FFFD: "héllo"[0:2] is "h\uFFFD", and "héllo"[0:len("héllo")] is
// "héll", its last letter lost. PostgreSQL's left('héllo', 2) and
// substr('héllo', 1, 2) are 'hé'.
//
// README: "NUL in text … as U+FFFD … as the decoder gives source values"
// (U+FFFD stands for what the source could not encode, not for a character
// an expression cut in two), and `varchar(n)` and text comparisons count
// characters and code points ("a `varchar(n)` longer than `n`", "text
// compares by its code points"). A short-name field made with
// `name[:20]` corrupts every name with an accent or emoji near its cut.
func TestReview33jTextSliceCountsCharacters(t *testing.T) {
	r := newReviewRig(t, `
sources:
  o:
    topic: t.public.o
    key: id
    columns: { id: bigint, name: text }
views:
  v:
    from: o
    fields:
      id: id
      first2: { expr: "name[0:2]", type: text }
      whole: { expr: "name[0:len(name)]", type: text }
    sinks: { postgres: {} }
`, false)
	r.process([]projector.Record{
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "name", "héllo"), 0),
	})
	r.expect("v", map[string]string{"1": `{"first2":"hé","whole":"héllo"}`})
}
