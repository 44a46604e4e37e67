package query_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shopspring/decimal"

	"github.com/projectorhq/projector/internal/query"
)

// fill writes a small shop and waits until every store has it.
func fill(s *shop) {
	s.user("u1", "Ada Lovelace", "ada@example.com")
	s.user("u2", "Bob <b>", "bob@example.com")
	s.order(1, row{"user_id": "u1", "status": "paid", "total": "12.50", "note": "gift wrap please", "created_at": "2024-05-01T10:00:00Z", "paid": true})
	s.order(2, row{"user_id": "u2", "status": "shipped", "total": "99.00", "note": "leave at door", "created_at": "2024-05-02T10:00:00Z", "paid": true})
	s.order(3, row{"user_id": "u1", "status": "new", "total": nil, "note": nil, "created_at": "2024-05-03T10:00:00Z", "paid": false})
	s.order(4, row{"user_id": "u2", "status": "paid", "total": "5.00", "note": "gift card", "created_at": "2024-05-04T10:00:00Z", "paid": true})
	s.order(5, row{"user_id": "u1", "status": "cancelled", "total": "42.00", "note": "", "created_at": nil, "paid": false})
	s.line(1, 1, "A-1", 2)
	s.line(1, 2, "B/2", 1)
	s.caughtUp()
}

func ids(list []map[string]any) []string {
	out := make([]string, len(list))
	for i, d := range list {
		out[i] = string(d["id"].(json.Number))
	}
	return out
}

func TestViewsAndDocs(t *testing.T) {
	s := newShop(t, shopOptions{})
	fill(s)

	status, body := s.get("/v1/views")
	mustStatus(t, "/v1/views", status, http.StatusOK, body)
	views := body["views"].([]any)
	if len(views) != 3 {
		t.Fatalf("views: %v", body)
	}
	orders := views[0].(map[string]any)
	if orders["name"] != "orders" || orders["generation"] != json.Number("1") {
		t.Errorf("orders view: %v", orders)
	}
	sinks := orders["sinks"].(map[string]any)
	if sinks["postgres"].(map[string]any)["table"] != `"public"."q_orders"` || sinks["elasticsearch"].(map[string]any)["index"] != "orders" {
		t.Errorf("orders sinks: %v", sinks)
	}
	lag, ok := orders["lag"].(map[string]any)
	if !ok || lag["records"] != json.Number("0") {
		t.Errorf("orders lag after catching up: %v", orders["lag"])
	}
	fields := orders["fields"].([]any)
	if f := fields[2].(map[string]any); f["name"] != "total" || f["type"] != "numeric(10,2)" || f["filter"] != true {
		t.Errorf("total field: %v", f)
	}

	// One doc, from Redis (JSON), with its embedded customer.
	status, body = s.get("/v1/views/orders/docs/1")
	mustStatus(t, "docs/1", status, http.StatusOK, body)
	if body["status"] != "paid" || body["total"] != json.Number("12.50") || body["customer"].(map[string]any)["name"] != "Ada Lovelace" {
		t.Errorf("docs/1: %v", body)
	}
	// Leading zeros name the same integer id.
	if status, body = s.get("/v1/views/orders/docs/0001"); status != http.StatusOK || body["id"] != json.Number("1") {
		t.Errorf("docs/0001: %d %v", status, body)
	}
	status, body = s.get("/v1/views/orders/docs/999")
	mustStatus(t, "docs/999", status, http.StatusNotFound, body)
	if body["code"] != "not_found" || body["error"] == "" {
		t.Errorf("404 body: %v", body)
	}

	// Redis without the key (a TTL ran out), or with a key that holds
	// another doc: PostgreSQL answers.
	ctx := t.Context()
	if err := s.rdb.Del(ctx, s.prefix+"order:2").Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.rdb.Set(ctx, s.prefix+"order:3", `{"id":99,"status":"forged"}`, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if status, body := s.get("/v1/views/orders/docs/2"); status != http.StatusOK || body["status"] != "shipped" {
		t.Errorf("docs/2 without its Redis key: %d %v", status, body)
	}
	if status, body := s.get("/v1/views/orders/docs/3"); status != http.StatusOK || body["status"] != "new" {
		t.Errorf("docs/3 with another doc at its key: %d %v", status, body)
	}

	// A composite id: a JSON array of the id values, in id order; a value
	// with a slash is escaped in the path.
	p := "/v1/views/lines/docs/" + url.PathEscape(`["1","2"]`)
	status, body = s.get(p)
	mustStatus(t, p, status, http.StatusOK, body)
	if body["sku"] != "B/2" || body["qty"] != json.Number("1") {
		t.Errorf("line [1,2]: %v", body)
	}
	if status, body = s.get("/v1/views/lines/docs/" + url.PathEscape(`[1,1]`)); status != http.StatusOK || body["sku"] != "A-1" {
		t.Errorf("line [1,1] with numbers: %d %v", status, body)
	}
	for _, bad := range []string{"1", `["1"]`, `["1","2","3"]`, `["x","1"]`, `{"a":1}`} {
		p := "/v1/views/lines/docs/" + url.PathEscape(bad)
		status, body := s.get(p)
		mustStatus(t, p, status, http.StatusBadRequest, body)
	}

	// A Redis hash gets its JSON types back from the field types.
	status, body = s.get("/v1/views/stats/docs/paid")
	mustStatus(t, "stats/paid", status, http.StatusOK, body)
	// The sum's digits are the engine's (17.5 or 17.50): a number by value.
	if sum, ok := body["sum"].(json.Number); body["n"] != json.Number("2") || !ok || !decimal.RequireFromString(sum.String()).Equal(decimal.RequireFromString("17.5")) || body["status"] != "paid" {
		t.Errorf("stats/paid: %v", body)
	}
	status, body = s.get("/v1/views/stats/docs")
	mustStatus(t, "stats list", status, http.StatusNotFound, body)
}

func TestListFiltersAndSort(t *testing.T) {
	s := newShop(t, shopOptions{})
	fill(s)
	cases := []struct {
		query string
		want  []string
	}{
		{"", []string{"1", "2", "3", "4", "5"}},
		{"status=paid", []string{"1", "4"}},
		{"status[in]=paid,new", []string{"1", "3", "4"}},
		{"total[gte]=12.5", []string{"1", "2", "5"}},
		{"total[gt]=12.5&total[lt]=99", []string{"5"}},
		{"paid=true&sort=-total", []string{"2", "1", "4"}},
		{"customer.id=u1", []string{"1", "3", "5"}},
		{"customer.name[in]=Bob+%3Cb%3E", []string{"2", "4"}},
		{"created_at[gte]=2024-05-02T10:00:00Z&created_at[lt]=2024-05-04", []string{"2", "3"}},
		{"created_at[lte]=2024-05-01T12:00:00%2B02:00", []string{"1"}},
		{"sort=-created_at", []string{"5", "4", "3", "2", "1"}}, // NULLs first descending
		{"sort=created_at", []string{"1", "2", "3", "4", "5"}},  // and last ascending
		{"sort=total", []string{"4", "1", "5", "2", "3"}},
		{"sort=-id", []string{"5", "4", "3", "2", "1"}},
		{"note=", []string{"5"}},
		{"status=paid&status=new", []string{}},
		{"id[eq]=3", []string{"3"}},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			// Every page size gives the same sequence through the cursors.
			for _, limit := range []string{"1", "2", "50"} {
				var got []string
				cursor := ""
				for pages := 0; ; pages++ {
					q := c.query + "&limit=" + limit
					if cursor != "" {
						q += "&cursor=" + url.QueryEscape(cursor)
					}
					path := "/v1/views/orders/docs?" + q
					status, body := s.get(path)
					mustStatus(t, path, status, http.StatusOK, body)
					got = append(got, ids(docs(body))...)
					next, _ := body["next_cursor"].(string)
					if next == "" {
						if body["next_cursor"] != nil {
							t.Fatalf("next_cursor: %v", body["next_cursor"])
						}
						break
					}
					if pages > 10 {
						t.Fatal("cursor does not end")
					}
					cursor = next
				}
				if !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
					t.Errorf("limit %s: got %v, want %v", limit, got, c.want)
				}
			}
		})
	}
	// Lists come from PostgreSQL: numbers keep their digits, nested objects
	// are objects.
	status, body := s.get("/v1/views/orders/docs?id[eq]=1")
	mustStatus(t, "id=1", status, http.StatusOK, body)
	d := docs(body)[0]
	if d["total"] != json.Number("12.50") || d["customer"].(map[string]any)["email"] != "ada@example.com" || d["paid"] != true {
		t.Errorf("doc 1 from PostgreSQL: %v", d)
	}
	// Composite ids page in id order.
	status, body = s.get("/v1/views/lines/docs?limit=1")
	mustStatus(t, "lines", status, http.StatusOK, body)
	if l := docs(body); len(l) != 1 || l[0]["line"] != json.Number("1") || body["next_cursor"] == nil {
		t.Errorf("lines page 1: %v", body)
	}
	status, body = s.get("/v1/views/lines/docs?limit=1&cursor=" + url.QueryEscape(body["next_cursor"].(string)))
	mustStatus(t, "lines 2", status, http.StatusOK, body)
	if l := docs(body); len(l) != 1 || l[0]["line"] != json.Number("2") {
		t.Errorf("lines page 2: %v", body)
	}
}

func TestSearch(t *testing.T) {
	s := newShop(t, shopOptions{})
	fill(s)
	// The sinks do not refresh; a min_position makes the server wait for
	// the watermark and refresh the alias.
	lsn := s.order(6, row{"user_id": "u2", "status": "paid", "total": "7.00", "note": "Gift for mum", "created_at": "2024-05-06T10:00:00Z", "paid": true})
	path := "/v1/views/orders/search?q=gift&facets=status,paid&sort=id&min_position=orders:" + lsnText(lsn)
	status, body := s.get(path)
	mustStatus(t, path, status, http.StatusOK, body)
	if got := ids(docs(body)); !slices.Equal(got, []string{"1", "4", "6"}) || body["total"] != json.Number("3") {
		t.Errorf("q=gift: %v total %v", got, body["total"])
	}
	facets := body["facets"].(map[string]any)
	st := facets["status"].([]any)
	if len(st) != 1 || st[0].(map[string]any)["value"] != "paid" || st[0].(map[string]any)["count"] != json.Number("3") {
		t.Errorf("status facet: %v", st)
	}
	if len(facets["paid"].([]any)) != 1 {
		t.Errorf("paid facet: %v", facets["paid"])
	}
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"status=paid&sort=-total", []string{"1", "6", "4"}},
		{"total[gte]=12.5&sort=id", []string{"1", "2", "5"}},
		{"status[in]=new,cancelled&sort=id", []string{"3", "5"}},
		{"q=GIFT&paid=true&sort=-id&limit=2", []string{"6", "4"}},
		{"q=gift&paid=true&sort=-id&limit=2&offset=2", []string{"1"}},
		{"q=status:nothing+OR+zzz*", []string{}}, // no query syntax: just words
	} {
		path := "/v1/views/orders/search?" + c.query
		status, body := s.get(path)
		mustStatus(t, path, status, http.StatusOK, body)
		if got := ids(docs(body)); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.query, got, c.want)
		}
	}
	for _, q := range []string{"customer.id=u1", "facets=customer", "facets=nope", "sort=customer", "q=x&cursor=abc", "limit=0"} {
		path := "/v1/views/orders/search?" + q
		status, body := s.get(path)
		mustStatus(t, path, status, http.StatusBadRequest, body)
	}
	status, body = s.get("/v1/views/lines/search?q=a")
	mustStatus(t, "lines search", status, http.StatusNotFound, body)

	// A sum is a numeric without precision, which Elasticsearch holds as
	// keyword digits: filters and sorts still compare it by value.
	wait := "&min_position=orders:" + lsnText(lsn)
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"sum[gte]=40&sort=-sum", []string{"shipped", "cancelled"}},
		{"sum=24.50", []string{"paid"}},
		{"sum[lt]=100&sum[gt]=24.5&sort=sum", []string{"cancelled", "shipped"}},
	} {
		path := "/v1/views/stats/search?" + c.query + wait
		status, body := s.get(path)
		mustStatus(t, path, status, http.StatusOK, body)
		var got []string
		for _, d := range docs(body) {
			got = append(got, fmt.Sprint(d["status"]))
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("stats %s: got %v, want %v", c.query, got, c.want)
		}
	}
}

// TestMetrics: requests are counted by endpoint and status in the registry
// given (the daemon's, under run --serve); a second registration fails
// instead of panicking.
func TestMetrics(t *testing.T) {
	s := newShop(t, shopOptions{})
	reg := prometheus.NewRegistry()
	api, err := query.New(t.Context(), s.cfg, s.plan, query.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	h := httptest.NewServer(api.Handler())
	defer h.Close()
	call(t, h.URL, "/v1/views/orders/docs/1")
	call(t, h.URL, "/v1/views/orders/docs?limit=0")
	want := map[string]float64{"get/404": 1, "list/400": 1}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "projector_query_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			got[labels["endpoint"]+"/"+labels["code"]] = m.GetCounter().GetValue()
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("requests: %v, want %v", got, want)
	}
	if _, err := query.New(t.Context(), s.cfg, s.plan, query.Options{Registerer: reg}); !errors.Is(err, query.ErrConfig) {
		t.Errorf("second registration: %v", err)
	}
}
