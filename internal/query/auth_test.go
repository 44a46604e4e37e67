package query_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/projectorhq/projector/internal/query"
)

const (
	tokenOrders = "orders-only-token-0123456789"
	tokenAll    = "every-view-token-abcdefghij"
)

func TestAuth(t *testing.T) {
	s := newShop(t, shopOptions{tokens: tokenOrders + ":orders;\n " + tokenAll + ":*"})
	fill(s)
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }
	cases := []struct {
		path   string
		header []string
		status int
		code   string
	}{
		{"/v1/views/orders/docs/1", nil, 401, "unauthorized"},
		{"/v1/views/orders/docs/1", []string{"Authorization", "Basic " + tokenAll}, 401, "unauthorized"},
		{"/v1/views/orders/docs/1", bearer("not-a-known-token-at-all"), 401, "invalid_token"},
		{"/v1/views/orders/docs/1", bearer(tokenOrders + "x"), 401, "invalid_token"},
		{"/v1/views", nil, 401, "unauthorized"},
		{"/v1/openapi.json", nil, 401, "unauthorized"},
		{"/v1/views/orders/docs/1", bearer(tokenOrders), 200, ""},
		{"/v1/views/orders/docs?status=paid", bearer(tokenOrders), 200, ""},
		{"/v1/views/lines/docs", bearer(tokenOrders), 403, "forbidden"},
		{"/v1/views/stats/docs/paid", bearer(tokenOrders), 403, "forbidden"},
		{"/v1/views/nosuch/docs", bearer(tokenOrders), 403, "forbidden"}, // a narrow token learns nothing of other views
		{"/v1/views/nosuch/docs", bearer(tokenAll), 404, "not_found"},
		{"/v1/views/stats/docs/paid", bearer(tokenAll), 200, ""},
		{"/v1/views/stats/docs/paid", []string{"Authorization", "bearer " + tokenAll}, 200, ""},
	}
	for _, c := range cases {
		status, body := s.get(c.path, c.header...)
		if status != c.status || (c.code != "" && body["code"] != c.code) {
			t.Errorf("GET %s with %v: %d %v; want %d %s", c.path, c.header, status, body, c.status, c.code)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, s.http.URL+"/v1/views", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	// A token sees only its views, in the list and in the API description.
	_, body := s.get("/v1/views", bearer(tokenOrders)...)
	if views := body["views"].([]any); len(views) != 1 || views[0].(map[string]any)["name"] != "orders" {
		t.Errorf("views for the orders token: %v", body)
	}
	_, doc := s.get("/v1/openapi.json", bearer(tokenOrders)...)
	for p := range doc["paths"].(map[string]any) {
		if strings.Contains(p, "lines") || strings.Contains(p, "stats") {
			t.Errorf("openapi for the orders token has %s", p)
		}
	}
}

func TestParseTokensNeverShowsTokens(t *testing.T) {
	s := newShop(t, shopOptions{})
	for _, spec := range []string{
		"short-secret:orders",
		"a-long-enough-secret-1:nosuch",
		"a-long-enough-secret-2",
		"a-long-enough-secret-3:",
		"a-long-enough-secret-4:orders;a-long-enough-secret-4:lines",
	} {
		_, err := query.New(context.Background(), s.cfg, s.plan, query.Options{Tokens: spec})
		if !errors.Is(err, query.ErrConfig) {
			t.Errorf("%q: %v", spec, err)
			continue
		}
		for _, secret := range []string{"short-secret", "a-long-enough-secret"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error shows the token: %v", err)
			}
		}
	}
}

func TestCheckListen(t *testing.T) {
	for _, c := range []struct {
		addr   string
		tokens bool
		ok     bool
	}{
		{"127.0.0.1:8080", false, true},
		{"[::1]:8080", false, true},
		{"localhost:8080", false, true},
		{"127.0.0.2:0", false, true},
		{":8080", false, false},
		{"0.0.0.0:8080", false, false},
		{"[::]:8080", false, false},
		{"10.1.2.3:8080", false, false},
		{"example.com:8080", false, false},
		{"0.0.0.0:8080", true, true},
		{"nonsense", false, false},
	} {
		err := query.CheckListen(c.addr, c.tokens)
		if (err == nil) != c.ok {
			t.Errorf("CheckListen(%q, %v) = %v", c.addr, c.tokens, err)
		}
	}
	// The server applies it.
	s := newShop(t, shopOptions{})
	if _, err := s.api.Listen("0.0.0.0:0"); !errors.Is(err, query.ErrConfig) {
		t.Errorf("open API on every interface: %v", err)
	}
	h, err := s.api.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- h.Serve() }()
	status, body := call(t, "http://"+h.Addr(), "/v1/views/orders/docs/1")
	if status != http.StatusNotFound {
		t.Errorf("served: %d %v", status, body)
	}
	if err := h.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestOpenAPI checks the description is a valid OpenAPI 3 document (by
// kin-openapi's validator) with every view's schema and paths.
func TestOpenAPI(t *testing.T) {
	s := newShop(t, shopOptions{tokens: tokenAll + ":*"})
	_, raw := callRaw(t, s.http.URL, "/v1/openapi.json", "Authorization", "Bearer "+tokenAll)
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData([]byte(raw))
	if err != nil {
		t.Fatalf("openapi.json does not load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not valid: %v", err)
	}
	for _, p := range []string{"/v1/views", "/v1/views/orders/docs/{id}", "/v1/views/orders/docs", "/v1/views/orders/search",
		"/v1/views/lines/docs", "/v1/views/lines/docs/{id}", "/v1/views/stats/docs/{id}"} {
		if doc.Paths.Find(p) == nil {
			t.Errorf("no path %s", p)
		}
	}
	for _, p := range []string{"/v1/views/stats/docs", "/v1/views/lines/search"} {
		if doc.Paths.Find(p) != nil {
			t.Errorf("path %s for a view without that store", p)
		}
	}
	orders := doc.Components.Schemas["View_orders"]
	if orders == nil {
		t.Fatal("no schema for orders")
	}
	props := orders.Value.Properties
	if !props["id"].Value.Type.Is("integer") || !props["total"].Value.Type.Is("number") || !props["paid"].Value.Type.Is("boolean") ||
		props["created_at"].Value.Format != "date-time" || props["customer"].Value.Properties["email"] == nil {
		t.Errorf("orders schema: %+v", props)
	}
	list := doc.Paths.Find("/v1/views/orders/docs").Get
	for _, name := range []string{"status", "total[gte]", "customer.id", "created_at[in]", "sort", "limit", "cursor", "min_position"} {
		if list.Parameters.GetByInAndName("query", name) == nil {
			t.Errorf("list has no parameter %s", name)
		}
	}
	if len(doc.Security) != 1 {
		t.Errorf("security: %v", doc.Security)
	}
}
