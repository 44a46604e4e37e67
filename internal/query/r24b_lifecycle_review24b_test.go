package query_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/query"
	"github.com/projectorhq/projector/projections"
)

// r24bAPI serves the query API over the shop's stores with another
// configuration (s.yaml with its variables filled in, edited): what a
// `projector serve` replica upgraded to a new view file answers before the
// daemon deployed that file.
func r24bAPI(t *testing.T, yaml string) string {
	t.Helper()
	cfg, err := config.Parse("shop.yaml", []byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config:\n%v", err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatalf("plan:\n%v", err)
	}
	api, err := query.New(context.Background(), cfg, plan, query.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(api.Close)
	h := httptest.NewServer(api.Handler())
	t.Cleanup(h.Close)
	return h.URL
}

// TestR24bSearchOfALostOrUndeployedIndex: a view whose Elasticsearch index
// was deleted (its alias goes with it; README "Data lost by a store"), or
// whose Elasticsearch sink no daemon has deployed yet, is answered as the
// same view's lost or undeployed PostgreSQL table is: 503 not_deployed.
// Today Elasticsearch's 404 index_not_found_exception falls through to a
// 500 "internal error", logged at error, with nothing telling the client
// or the operator what is wrong.
func TestR24bSearchOfALostOrUndeployedIndex(t *testing.T) {
	s := newShop(t, shopOptions{})
	lsn := s.order(1, row{"status": "paid", "total": "1.00", "note": "hammer"})
	s.line(1, 1, "hammer", 2)
	s.caughtUp()
	mp := "min_position=orders:" + lsnText(lsn)
	st, body := s.get("/v1/views/orders/search?q=hammer&" + mp)
	mustStatus(t, "search", st, http.StatusOK, body)

	// Not deployed yet: the lines view gets an Elasticsearch sink in the
	// file the query API reads; no daemon has created its index.
	yaml := strings.Replace(s.yaml, "      postgres: { table: q_lines }\n",
		"      postgres: { table: q_lines }\n      elasticsearch: { index: lines }\n", 1)
	if yaml == s.yaml {
		t.Fatal("configuration not edited")
	}
	base := r24bAPI(t, yaml)
	for _, p := range []string{"/v1/views/lines/search?q=hammer", "/v1/views/lines/search?facets=sku"} {
		st, body := call(t, base, p)
		if st != http.StatusServiceUnavailable || body["code"] != "not_deployed" {
			t.Errorf("GET %s, index not deployed yet: %d %v, want 503 not_deployed (as /v1/views/lines/docs on a table not deployed)", p, st, body)
		}
	}

	// Lost: the index behind the orders alias is deleted.
	req, err := http.NewRequest(http.MethodDelete, s.es.URL()+"/orders-g1", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("DELETE orders-g1: %d", res.StatusCode)
	}
	for _, p := range []string{"/v1/views/orders/search?q=hammer", "/v1/views/orders/search?facets=status", "/v1/views/orders/search?q=hammer&" + mp} {
		st, body := s.get(p)
		if st != http.StatusServiceUnavailable || body["code"] != "not_deployed" {
			t.Errorf("GET %s, index deleted: %d %v, want 503 not_deployed (as /docs on a dropped table)", p, st, body)
		}
	}
}

// TestR24bListByAFieldNotDeployedYet: a field added to a view is in the
// query API's file before `projector run` restarts with it and adds its
// column (Migrate): filtering or sorting on it is a read of a view version
// not deployed, which should answer 503 not_deployed as an undeployed view
// does, not a 500 "internal error" (PostgreSQL's 42703 undefined_column,
// logged at error on every request).
func TestR24bListByAFieldNotDeployedYet(t *testing.T) {
	s := newShop(t, shopOptions{})
	s.order(1, row{"status": "paid", "total": "1.00", "user_id": "u1"})
	s.caughtUp()
	yaml := strings.Replace(s.yaml, "      note: note\n", "      note: note\n      user_id: user_id\n", 1)
	if yaml == s.yaml {
		t.Fatal("configuration not edited")
	}
	base := r24bAPI(t, yaml)
	for _, p := range []string{"/v1/views/orders/docs?user_id=u1", "/v1/views/orders/docs?sort=user_id"} {
		st, body := call(t, base, p)
		if st != http.StatusServiceUnavailable || body["code"] != "not_deployed" {
			t.Errorf("GET %s, column not deployed yet: %d %v, want 503 not_deployed", p, st, body)
		}
	}
}
