package query_test

import (
	"net/http"
	"testing"
)

// TestMinPositionOfAnotherViewsSource: a position on a source the view
// does not read is a 400. Waiting on it says nothing about the view, and
// a token that may read only orders must not learn the progress (partitions,
// LSNs, offsets) of the lines source, which only the lines view reads.
func TestMinPositionOfAnotherViewsSource(t *testing.T) {
	s := newShop(t, shopOptions{tokens: tokenOrders + ":orders;" + tokenAll + ":*"})
	fill(s)
	s.caughtUp()
	s.stopEngine()
	lsn := s.line(1, 9, "secret-sku", 1)
	status, body := s.get("/v1/views/orders/docs?min_position=lines:"+lsnText(lsn)+"&wait=0s", "Authorization", "Bearer "+tokenOrders)
	if status != http.StatusBadRequest || body["code"] != "bad_position" {
		t.Fatalf("orders with a position of lines: %d %v, want 400 bad_position", status, body)
	}
	if _, ok := body["current"]; ok {
		t.Errorf("the 400 carries progress: %v", body)
	}
	// A source the view reads is still waited on (users, through the join).
	status, body = s.get("/v1/views/orders/docs?min_position=users:1&wait=0s", "Authorization", "Bearer "+tokenOrders)
	if status != http.StatusOK {
		t.Errorf("orders with a position of users, which it joins: %d %v, want 200", status, body)
	}
}
