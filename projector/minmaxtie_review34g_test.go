package projector_test

// Review 34g: min and max over values that are equal but written
// differently (a numeric without a declared scale keeps the scale each
// value came with: 2 and 2.0). The result must depend on the group's rows
// only, not on the order they arrived in nor on the state the engine runs
// on: `projector test` (the memory state) is to compute what production
// computes. Today on PostgreSQL the first value to arrive wins (a kept
// group keeps its old extreme on a tie, see aggAcc.addBest; a group
// computed from its rows takes them in heap order, the scan having no
// ORDER BY), while the memory state takes the first in key order: the same
// two rows give "2" in production and "2.0" in `projector test`, and "2" or
// "2.0" in production depending on the order of delivery.

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/projectorhq/projector/projector"
)

const R34gTieYAML = `
sources:
  f: { topic: t.public.f, format: json, key: id, columns: { id: bigint, g: text, price: numeric } }
views:
  gv: { from: f, group_by: g, fields: { g: g, lo: { agg: min, of: price }, hi: { agg: max, of: price } }, sinks: { postgres: {} } }
`

func TestR34gMinMaxTiesDoNotDependOnArrival(t *testing.T) {
	text := map[int]string{1: "2.0", 2: "2"}
	results := map[string]string{}
	// The same two rows, delivered in either order, each in a batch of its
	// own, on PostgreSQL and in memory.
	for _, order := range [][]int{{1, 2}, {2, 1}} {
		r := newReviewRig(t, R34gTieYAML, true)
		for _, id := range order {
			r.process([]projector.Record{
				r.rec("f", "c", m("id", id), nil, m("id", id, "g", "a", "price", text[id]), 0),
			})
		}
		for name, s := range r.sinks {
			d, ok := s.docs["gv/a"]
			if !ok || d.Deleted {
				t.Fatalf("%s: gv/a missing", name)
			}
			results[fmt.Sprintf("%s, ids in order %v", name, order)] = canonical(t, map[string]any{"lo": d.Fields["lo"], "hi": d.Fields["hi"]})
		}
	}
	var lines []string
	distinct := map[string]bool{}
	for k, v := range results {
		lines = append(lines, "  "+k+": "+v)
		distinct[v] = true
	}
	if len(distinct) > 1 {
		slices.Sort(lines)
		t.Errorf("min/max of the same rows (price 2.0 and 2) differ by state and order of arrival:\n%s", strings.Join(lines, "\n"))
	}
}
