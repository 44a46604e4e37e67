package query

import (
	"slices"
	"testing"
)

// TestReview3SearchDefaultOrderPagesRepeatAndSkip: a search without sort
// (match_all, or q whose hits score alike) has no tiebreaker at all, so its
// offset pages come back in index order, where a re-indexed doc moves to
// the end. A doc of page 1 merely rewritten (a field nobody searched on)
// then shows again on page 2 and another doc is never returned: the very
// repeat/skip the id tiebreak of an explicit sort was added to prevent.
func TestReview3SearchDefaultOrderPagesRepeatAndSkip(t *testing.T) {
	for _, q := range []string{"", "q=open&"} {
		tk := newTickets(t,
			`{"id":1,"status":"open","note":"a","score":1}`,
			`{"id":2,"status":"open","note":"b","score":1}`,
			`{"id":3,"status":"open","note":"c","score":1}`,
			`{"id":4,"status":"open","note":"d","score":1}`)
		page1 := tk.search(q + "limit=2&offset=0")
		tk.put(`{"id":` + page1[0] + `,"status":"open","note":"a","score":2}`)
		page2 := tk.search(q + "limit=2&offset=2")
		seen := append(append([]string{}, page1...), page2...)
		slices.Sort(seen)
		if !slices.Equal(seen, []string{"1", "2", "3", "4"}) {
			t.Errorf("search ?%slimit=2: pages %v + %v: a doc repeated and another skipped after an update of a field neither searched nor sorted on", q, page1, page2)
		}
	}
}
