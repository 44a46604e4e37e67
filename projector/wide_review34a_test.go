package projector_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/projectorhq/projector/projector"
)

// R34aWideGroupYAML: a wide fact table (n bigint columns) and a daily
// summary summing each of them: a group_by view reading n+1 columns of its
// root.
func R34aWideGroupYAML(n int) string {
	var b strings.Builder
	b.WriteString("sources:\n  facts:\n    topic: t.public.facts\n    key: id\n    columns: { id: bigint, day: text")
	for i := range n {
		fmt.Fprintf(&b, ", c%d: bigint", i)
	}
	b.WriteString(" }\nviews:\n  daily:\n    from: facts\n    group_by: day\n    fields:\n      day: day\n      rows: { agg: count }\n")
	for i := range n {
		fmt.Fprintf(&b, "      s%d: { agg: sum, of: c%d }\n", i, i)
	}
	b.WriteString("    sinks:\n      postgres: { table: daily }\n")
	return b.String()
}

// TestR34aWideGroupByView: a group_by view that reads 50 or more columns
// of its root (here 60 sums) fails every batch of its source on the
// PostgreSQL state: apply returns the rows' group columns through
// jsonb_build_object (slim, state.go), one call with two arguments per
// column, and PostgreSQL takes at most 100 ("cannot pass more than 100
// arguments to a function"). The batch is retried forever; the memory
// engine (projector test) computes it fine. 49 sums pass.
func TestR34aWideGroupByView(t *testing.T) {
	const n = 60
	r := newReviewRig(t, R34aWideGroupYAML(n), true)
	row := m("id", 1, "day", "2024-01-01")
	for i := range n {
		row[fmt.Sprintf("c%d", i)] = i
	}
	r.process([]projector.Record{r.rec("facts", "c", m("id", 1), nil, row, 0)})
	r.expect("daily", map[string]string{"2024-01-01": `{"rows": 1, "s0": 0, "s59": 59}`})
}
