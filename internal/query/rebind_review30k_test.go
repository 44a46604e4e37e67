package query_test

import (
	"io"
	"net/http"
	"testing"
)

// TestReview30kOpenAPIRefusesForeignHost: without PROJECTOR_API_TOKENS the
// API is open and its only protection is that it listens on loopback
// (README "Auth": "without tokens the server only listens on loopback").
// A web page the operator visits can reach a loopback server through DNS
// rebinding: the attacker's name (rebind.attacker.example) first resolves
// to the attacker's server, then to 127.0.0.1, and the browser, which
// takes both for the same origin, lets the page's script read the
// answers. The request still carries the attacker's name in its Host
// header: an open API must answer only requests addressed to a loopback
// name (localhost, 127.0.0.1, [::1]), as an open loopback service must to
// be safe from rebinding.
func TestReview30kOpenAPIRefusesForeignHost(t *testing.T) {
	s := newShop(t, shopOptions{}) // no tokens: the open, loopback-only API
	fill(s)
	for _, path := range []string{"/v1/views/orders/docs/1", "/v1/views/orders/docs", "/v1/views"} {
		// sanity: a request addressed to the loopback address is served
		st, body := s.get(path)
		mustStatus(t, path, st, http.StatusOK, body)

		req, err := http.NewRequest(http.MethodGet, s.http.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "rebind.attacker.example:9465"
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			t.Errorf("GET %s with Host %s: 200 %.200s; want a refusal: an open API must not serve a request addressed to another host name (DNS rebinding)", path, req.Host, b)
		}
	}
}
