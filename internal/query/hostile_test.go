package query_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestHostileInput sends what an attacker or a broken client would: SQL in
// names and values, huge limits, broken and forged cursors, unknown views,
// bad positions. Each gets a JSON error naming what is wrong (or, for a
// value that is only text, no match), and nothing in the stores changes.
func TestHostileInput(t *testing.T) {
	s := newShop(t, shopOptions{})
	fill(s)
	count := func() int {
		var n int
		if err := s.pool.QueryRow(context.Background(), `SELECT count(*) FROM q_orders`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()

	// A valid cursor to tamper with.
	_, body := s.get("/v1/views/orders/docs?limit=2&sort=-total")
	good := body["next_cursor"].(string)
	payload, mac, _ := strings.Cut(good, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(payload)
	forged := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), `"k":[`, `"k":["1') OR 1=1 --",`, 1))) + "." + mac
	other := "A"
	if mac[0] == 'A' {
		other = "B"
	}
	flipped := payload + "." + other + mac[1:]

	cases := []struct {
		path   string
		status int
		code   string
		param  string
	}{
		{"/v1/views/orders/docs?status'%20OR%20'1'='1=x", 400, "unknown_field", "status' OR '1'"},
		{"/v1/views/orders/docs?id%3BDROP%20TABLE%20q_orders=1", 400, "unknown_field", "id;DROP TABLE q_orders"},
		{"/v1/views/orders/docs?id;DROP%20TABLE%20q_orders=1", 400, "bad_query", ""},
		{`/v1/views/orders/docs?"id"=1`, 400, "unknown_field", ""},
		{"/v1/views/orders/docs?customer.id')%3B--=1", 400, "unknown_field", ""},
		{"/v1/views/orders/docs?customer.nope=1", 400, "unknown_field", "customer.nope"},
		{"/v1/views/orders/docs?customer=1", 400, "bad_field", "customer"},
		{"/v1/views/orders/docs?total[gte]=1%3BDROP%20TABLE%20q_orders", 400, "bad_value", "total[gte]"},
		{"/v1/views/orders/docs?total[gte]=1e999999999", 400, "bad_value", "total[gte]"},
		{"/v1/views/orders/docs?id=1%20OR%201=1", 400, "bad_value", "id"},
		{"/v1/views/orders/docs?id=99999999999999999999", 400, "bad_value", "id"},
		{"/v1/views/orders/docs?paid=maybe", 400, "bad_value", "paid"},
		{"/v1/views/orders/docs?created_at[gt]=yesterday", 400, "bad_value", "created_at[gt]"},
		{"/v1/views/orders/docs?status=%00", 400, "bad_value", "status"},
		{"/v1/views/orders/docs?status=%ff%fe", 400, "bad_value", "status"},
		{"/v1/views/orders/docs?status[like]=x", 400, "bad_operator", "status[like]"},
		{"/v1/views/orders/docs?status[gte=x", 400, "bad_parameter", "status[gte"},
		{"/v1/views/orders/docs?[eq]=x", 400, "bad_parameter", "[eq]"},
		{"/v1/views/orders/docs?status[in]=" + strings.Repeat("a,", 1001), 400, "bad_value", "status[in]"},
		{"/v1/views/orders/docs?status=" + strings.Repeat("x", 5000), 400, "bad_value", "status"},
		{"/v1/views/orders/docs?limit=1000000000", 400, "bad_limit", "limit"},
		{"/v1/views/orders/docs?limit=0", 400, "bad_limit", "limit"},
		{"/v1/views/orders/docs?limit=-5", 400, "bad_limit", "limit"},
		{"/v1/views/orders/docs?limit=ten", 400, "bad_limit", "limit"},
		{"/v1/views/orders/docs?limit=5&limit=6", 400, "bad_limit", "limit"},
		{"/v1/views/orders/docs?sort=id%3BDROP", 400, "unknown_field", "sort"},
		{"/v1/views/orders/docs?sort=customer", 400, "bad_sort", "sort"},
		{"/v1/views/orders/docs?sort=total,id", 400, "bad_sort", "sort"},
		{"/v1/views/orders/docs?q=x", 400, "bad_parameter", "q"},
		{"/v1/views/orders/docs?cursor=garbage", 400, "bad_cursor", "cursor"},
		{"/v1/views/orders/docs?cursor=" + strings.Repeat("A", 9000), 400, "bad_cursor", "cursor"},
		{"/v1/views/orders/docs?sort=-total&limit=2&cursor=" + url.QueryEscape(forged), 400, "bad_cursor", "cursor"},
		{"/v1/views/orders/docs?sort=-total&limit=2&cursor=" + url.QueryEscape(flipped), 400, "bad_cursor", "cursor"},
		{"/v1/views/orders/docs?sort=total&limit=2&cursor=" + url.QueryEscape(good), 400, "bad_cursor", "cursor"},
		{"/v1/views/orders/docs?sort=-total&status=paid&cursor=" + url.QueryEscape(good), 400, "bad_cursor", "cursor"},
		{"/v1/views/lines/docs?cursor=" + url.QueryEscape(good), 400, "bad_cursor", "cursor"},
		{"/v1/views/orders/docs?min_position=nosuch:0/1", 400, "bad_position", "min_position"},
		{"/v1/views/orders/docs?min_position=orders:0/XYZ", 400, "bad_position", "min_position"},
		{"/v1/views/orders/docs?min_position=orders:123456789/0", 400, "bad_position", "min_position"},
		{"/v1/views/orders/docs?min_position=orders:-5", 400, "bad_position", "min_position"},
		{"/v1/views/orders/docs?min_position=orders:1:x", 400, "bad_position", "min_position"},
		{"/v1/views/orders/docs?min_position=orders:99999999999999999999", 400, "bad_position", "min_position"},
		{"/v1/views/orders/docs?min_position=orders:1&wait=1h", 400, "bad_wait", "wait"},
		{"/v1/views/orders/docs?min_position=orders:1&wait=soon", 400, "bad_wait", "wait"},
		{"/v1/views/orders/docs?%zz", 400, "bad_query", ""},
		{"/v1/views/orders/docs/abc", 400, "bad_id", "id"},
		{"/v1/views/orders/docs/1?status=x", 400, "bad_parameter", "status"},
		{"/v1/views/orders/docs/" + strings.Repeat("9", 3000), 400, "bad_id", "id"},
		{"/v1/views/stats/docs/*", 404, "not_found", ""},
		{"/v1/views/stats/docs/" + url.PathEscape("paid:{x}*"), 404, "not_found", ""},
		{"/v1/views/nosuch/docs", 404, "not_found", ""},
		{"/v1/views/nosuch/docs/1", 404, "not_found", ""},
		{"/v1/views/" + url.PathEscape("orders'--") + "/docs", 404, "not_found", ""},
		{"/v1/views/orders/nothing", 404, "not_found", ""},
		{"/v2/views", 404, "not_found", ""},
	}
	for _, c := range cases {
		status, body := s.get(c.path)
		if status != c.status || body["code"] != c.code || (c.param != "" && body["param"] != c.param) {
			t.Errorf("GET %.120s: %d %v; want %d %s param %q", c.path, status, body, c.status, c.code, c.param)
		}
		if msg, _ := body["error"].(string); msg == "" || len(msg) > 400 {
			t.Errorf("GET %.120s: error message %q", c.path, msg)
		}
	}
	// Values are bound: SQL in a text value is only text that matches
	// nothing.
	for _, v := range []string{"' OR '1'='1", "paid'; DROP TABLE q_orders; --", `\'; SELECT pg_sleep(10); --`} {
		path := "/v1/views/orders/docs?status=" + url.QueryEscape(v)
		status, body := s.get(path)
		if status != http.StatusOK || len(docs(body)) != 0 {
			t.Errorf("GET %s: %d %v", path, status, body)
		}
		path = "/v1/views/orders/search?q=" + url.QueryEscape(v) + "&status=" + url.QueryEscape(v)
		if status, body := s.get(path); status != http.StatusOK || len(docs(body)) != 0 {
			t.Errorf("GET %s: %d %v", path, status, body)
		}
	}
	// Wrong methods.
	req, _ := http.NewRequest(http.MethodDelete, s.http.URL+"/v1/views/orders/docs/1", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("DELETE: %d", res.StatusCode)
	}
	if n := count(); n != before {
		t.Errorf("rows: %d, were %d", n, before)
	}
	if status, body := s.get("/v1/views/orders/docs/1"); status != http.StatusOK || body["status"] != "paid" {
		t.Errorf("doc 1 after the attacks: %d %v", status, body)
	}
}
