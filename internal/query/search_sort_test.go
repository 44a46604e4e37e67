package query

import (
	"fmt"
	"slices"
	"testing"
)

// The search endpoint's sort is documented as a list's ("the id breaks
// ties"): without the id in Elasticsearch's sort, ties come back in index
// order (write order, and a re-indexed doc moves to the end), and offset
// pages repeat and skip docs when one of them is merely rewritten.
func TestSearchSortIDBreaksTies(t *testing.T) {
	tk := newTickets(t,
		`{"id":3,"status":"open","note":"c","score":1}`,
		`{"id":1,"status":"open","note":"a","score":1}`,
		`{"id":2,"status":"open","note":"b","score":1}`,
		`{"id":4,"status":"open","note":"d","score":1}`)
	for _, tc := range []struct{ sort, want []string }{
		{[]string{"status", "score"}, []string{"1", "2", "3", "4"}},
		{[]string{"-status", "-score"}, []string{"4", "3", "2", "1"}},
	} {
		for _, sort := range tc.sort {
			if got := tk.search("sort=" + sort); !slices.Equal(got, tc.want) {
				t.Errorf("search sort=%s: ids %v, want %v (the id breaks ties)", sort, got, tc.want)
			}
			if got := tk.list("sort=" + sort); !slices.Equal(got, tc.want) {
				t.Errorf("list sort=%s: ids %v, want %v", sort, got, tc.want)
			}
		}
	}
	// Offset paging while a doc of page 1 gets an unrelated update.
	page1 := tk.search("sort=status&limit=2&offset=0")
	tk.put(`{"id":` + page1[0] + `,"status":"open","note":"edited","score":2}`)
	page2 := tk.search("sort=status&limit=2&offset=2")
	seen := append(append([]string{}, page1...), page2...)
	slices.Sort(seen)
	if !slices.Equal(seen, []string{"1", "2", "3", "4"}) {
		t.Errorf("pages %v + %v: a doc repeated and another skipped after an update that did not touch the sort field", page1, page2)
	}
}

// A list puts NULLs last ascending and first descending (PostgreSQL's
// order); Elasticsearch puts a missing value last either way unless told.
// Both endpoints take the same sort parameter and must agree.
func TestSearchNullsOrderMatchesList(t *testing.T) {
	tk := newTickets(t,
		`{"id":1,"status":"open","note":"a","score":1}`,
		`{"id":2,"status":"open","note":null,"score":1}`,
		`{"id":3,"status":"open","note":"c","score":1}`,
		`{"id":4,"status":"open","note":null,"score":1}`)
	for _, tc := range []struct{ sort, want string }{
		{"note", "[1 3 2 4]"},
		{"-note", "[4 2 3 1]"},
	} {
		list, search := tk.list("sort="+tc.sort), tk.search("sort="+tc.sort)
		if !slices.Equal(list, search) {
			t.Errorf("sort=%s: list %v, search %v: NULLs at different ends", tc.sort, list, search)
		}
		if got := fmt.Sprint(search); got != tc.want {
			t.Errorf("search sort=%s: ids %s, want %s", tc.sort, got, tc.want)
		}
	}
}
