package projector_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/projectorhq/projector/projector"
)

// TestR37cTextAsPlainNumericSameInEveryStore: README (A view in YAML): "A
// result is written as a column of its type holds it, the same in every
// store", and "A column field with its own `type:` is held to it by the
// same rules, in every store". A text column retyped as a plain `numeric`
// (no declared scale) holding "1e2", " 12.50", ".5" or "+5": PostgreSQL's
// numeric column holds 100, 12.50, 0.5 and 5. The engine passes the text
// on as it came (projector/exprresult.go numberText, the last `return s,
// true`: decimal.NewFromString checked it, but the original string is
// returned, untrimmed and unnormalised), so Redis (and Elasticsearch's
// keyword digits) hold "1e2", " 12.50", ".5" and "+5": a reader comparing
// or matching digits finds another value than PostgreSQL's. Expected: the
// decimal's text (projections.DecimalText of the parsed value), as every
// other numeric result is written.
func TestR37cTextAsPlainNumericSameInEveryStore(t *testing.T) {
	vals := []string{"1e2", " 12.50", ".5", "+5"}
	var fields, cols strings.Builder
	row := []any{"id", 1}
	for i, v := range vals {
		fmt.Fprintf(&cols, ", t%d: text", i)
		fmt.Fprintf(&fields, "      n%d: { column: t%d, type: numeric }\n", i, i)
		row = append(row, fmt.Sprintf("t%d", i), v)
	}
	refused, pgText, redisText := r37cStores(t, `
sources:
  o: { topic: t.public.o, key: id, columns: { id: bigint`+cols.String()+` } }
views:
  v:
    from: o
    fields:
      id: id
`+fields.String()+`    sinks: { postgres: {}, redis: { key: "PREFIXv:{id}" } }
`, func(r *reviewRig) []projector.Record {
		return []projector.Record{r.rec("o", "c", m("id", 1), nil, m(row...), 0)}
	}, "1")
	for _, rf := range refused {
		t.Fatalf("store %s refused doc %s: %v", rf.Sink, rf.Doc.ID, rf.Err)
	}
	pg, rd := r37cDecode(t, pgText), r37cDecode(t, redisText)
	for i, v := range vals {
		f := fmt.Sprintf("n%d", i)
		if fmt.Sprint(rd[f]) != fmt.Sprint(pg[f]) {
			t.Errorf("text %q as numeric: PostgreSQL holds %v, Redis %q; want the same digits in every store", v, pg[f], rd[f])
		}
	}
}

func r37cDecode(t *testing.T, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var out map[string]any
	if err := d.Decode(&out); err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return out
}
