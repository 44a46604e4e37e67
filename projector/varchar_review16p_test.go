package projector_test

import (
	"testing"

	"github.com/projectorhq/projector/projector"
)

// TestR16pVarcharResultBeyondItsLength: an expression typed varchar(n)
// whose text is longer than n is "a result the field's type cannot hold"
// (README: an error that gives null and counts; exprResult's comment:
// "false for a result the type cannot hold, as PostgreSQL would refuse
// it"), like an integer beyond its range. exprResult checks no length:
// the doc carries "abc-long" for a varchar(5), which the PostgreSQL sink
// then refuses whole (value too long for type character varying(5),
// a dead letter), while Redis and Elasticsearch store it: the stores no
// longer hold the same document. (Doc 2's "-long" fits and stays.)
func TestR16pVarcharResultBeyondItsLength(t *testing.T) {
	r := newReviewRig(t, `
sources:
  o: { topic: t.public.o, key: id, columns: { id: bigint, name: text } }
views:
  v:
    from: o
    fields:
      id: id
      code: { expr: 'name + "-long"', type: "varchar(5)" }
    sinks: { postgres: {} }
`, true)
	r.process([]projector.Record{
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "name", "abc"), 0),
		r.rec("o", "c", m("id", 2), nil, m("id", 2, "name", ""), 0),
	})
	r.expect("v", map[string]string{"1": `{"code":null}`, "2": `{"code":"-long"}`})
}

// TestR16pIntegerArrayResultBeyondItsRange: an expression typed
// smallint[] whose elements pass 16 bits is a result the type cannot hold,
// as a smallint beyond its range is (README; a scalar smallint gives null).
// exprResult passes arrays through cleanValue unchecked, so the doc
// carries [40000], which the PostgreSQL sink refuses whole ("value
// "40000" is out of range for type smallint") while other stores take it.
func TestR16pIntegerArrayResultBeyondItsRange(t *testing.T) {
	r := newReviewRig(t, `
sources:
  o: { topic: t.public.o, key: id, columns: { id: bigint, n: bigint } }
views:
  v:
    from: o
    fields:
      id: id
      one: { expr: "n * 1000", type: smallint }
      arr: { expr: "[n * 1000]", type: "smallint[]" }
    sinks: { postgres: {} }
`, true)
	r.process([]projector.Record{
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "n", 40), 0),
	})
	r.expect("v", map[string]string{"1": `{"one":null,"arr":null}`})
}
