package projector_test

import (
	"testing"

	"github.com/projectorhq/projector/projector"
)

// TestR32dUntypedScalarIntoAnArray: review 32a held a number
// result of no declared type to its field's type (an integer into an array
// type is null and counted: "PostgreSQL: malformed array literal"). The
// other scalars still go through as they are, and PostgreSQL's
// jsonb_to_recordset refuses the whole document for them, while Redis and
// Elasticsearch hold a scalar in an array field:
//
//	jsonb_to_recordset('[{"a":true}]')  AS x(a boolean[]) → ERROR: expected JSON array
//	jsonb_to_recordset('[{"a":"abc"}]') AS x(a text[])    → ERROR: malformed array literal: "abc"
//
// (exprResult: the bool case lets any array type through, textResult
// returns any string for one). Want each null and counted in projector_expression_errors_total, as 32a's are, with the
// state in memory and in PostgreSQL alike.
func TestR32dUntypedScalarIntoAnArray(t *testing.T) {
	for _, withPG := range []bool{false, true} {
		r := newReviewRig(t, `
sources:
  o:
    topic: t.public.o
    key: id
    columns: { id: bigint, meta: jsonb }
views:
  v:
    from: o
    fields:
      id: id
      flags: { expr: "meta.flag", type: "boolean[]" }
      tags: { expr: "meta.tag", type: "text[]" }
      fine: { expr: "meta.list", type: "text[]" }
    sinks: { postgres: {} }
`, withPG)
		r.process([]projector.Record{
			r.rec("o", "c", m("id", 1), nil, m("id", 1, "meta", m("flag", true, "tag", "abc", "list", []any{"a", 1})), 0),
		})
		r.expect("v", map[string]string{
			"1": `{"flags":null,"tags":null,"fine":["a","1"]}`,
		})
	}
}
