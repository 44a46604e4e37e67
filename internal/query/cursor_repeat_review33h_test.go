package query_test

import (
	"net/http"
	"net/url"
	"testing"
)

// TestR33hRepeatedCursorIsRefused: a list given cursor twice answers 200
// with the page after the FIRST cursor (handlers.go/list.go prepareList
// reads params.Get("cursor") and never checks how many there are), while
// every other single-valued parameter of the same request is refused when
// repeated: limit ("limit is given 2 times: give it once", parseInt),
// sort ("sort takes one field"), and on search q, facets, facet_size,
// offset and wait (README "Querying the read store": "a repeat is a 400
// (`limit is given 2 times: give it once`), as for `sort`").
//
// The failure mode is the one keyset cursors exist to prevent: a client
// that builds the next page's URL by appending &cursor=<next_cursor> to
// the URL it just fetched (a common mistake with query-string builders)
// gets page 2 again and again, forever, with a fresh next_cursor each
// time, and no error to tell it why. README: "a doc present during the
// whole walk ... is returned exactly once". A careful API refuses the
// ambiguous request (400 bad_cursor, param cursor), as it does a repeated
// limit.
func TestR33hRepeatedCursorIsRefused(t *testing.T) {
	s := newShop(t, shopOptions{})
	fill(s)
	base := "/v1/views/orders/docs?sort=total&limit=1"
	status, p1 := s.get(base)
	mustStatus(t, base, status, http.StatusOK, p1)
	c1, _ := p1["next_cursor"].(string)
	if c1 == "" {
		t.Fatalf("page 1 has no next_cursor: %v", p1)
	}
	// The client appends the cursor to the URL it fetched.
	page2URL := base + "&cursor=" + url.QueryEscape(c1)
	status, p2 := s.get(page2URL)
	mustStatus(t, page2URL, status, http.StatusOK, p2)
	c2, _ := p2["next_cursor"].(string)
	if c2 == "" {
		t.Fatalf("page 2 has no next_cursor: %v", p2)
	}
	page3URL := page2URL + "&cursor=" + url.QueryEscape(c2)
	status, p3 := s.get(page3URL)
	if status == http.StatusOK {
		t.Errorf("GET with cursor given twice: 200, served the page after the first cursor (ids %v; page 2 was %v), "+
			"so a client appending cursors walks page 2 forever; want 400 bad_cursor as for a repeated limit",
			ids(docs(p3)), ids(docs(p2)))
		return
	}
	if status != http.StatusBadRequest || p3["code"] != "bad_cursor" || p3["param"] != "cursor" {
		t.Errorf("GET with cursor given twice: %d %v; want 400 bad_cursor, param cursor", status, p3)
	}
	// For comparison, the same mistake with limit is refused.
	status, body := s.get(base + "&limit=1")
	if status != http.StatusBadRequest {
		t.Errorf("limit given twice: %d %v", status, body)
	}
}
