package query_test

import (
	"net/http"
	"net/url"
	"testing"
)

// TestSearchScaledFloatEqualityIsExact: price is numeric(10,2)
// (scaled_float, factor 100), which rounds a term to its scale. A value
// with more decimals equals no price: price=12.504 matches no doc, as a
// list from PostgreSQL says, and [in] leaves such a value out; the same
// value written with trailing zeros (12.500) still matches.
func TestSearchScaledFloatEqualityIsExact(t *testing.T) {
	s := crossStoreItem(t, row{"price": 12.5})
	for _, c := range []struct {
		q    string
		want int
	}{
		{"price=12.504", 0},
		{"price[in]=12.496,99", 0},
		{"price[in]=12.496,12.504", 0},
		{"price=12.500", 1},
		{"price[eq]=12.5", 1},
		{"price[in]=12.504,12.5", 1},
		{"price[gte]=12.496&price[lte]=12.504", 1},
		{"price[gt]=12.504", 0},
		{"price[lt]=12.496", 0},
	} {
		path := "/v1/views/it_pg/docs?" + c.q
		st, body := call(t, s.http.URL, path)
		mustStatus(t, path, st, http.StatusOK, body)
		if n := len(docs(body)); n != c.want {
			t.Fatalf("sanity: %s: %d docs, want %d", path, n, c.want)
		}
		path = "/v1/views/it_es/search?min_position=items:0/0&" + c.q
		st, body = call(t, s.http.URL, path)
		mustStatus(t, path, st, http.StatusOK, body)
		if n := len(docs(body)); n != c.want {
			t.Errorf("GET %s: %d docs (%v), want %d as the list gives", path, n, body, c.want)
		}
	}
}

// TestSearchScaledFloatRangeBoundsOnTheGrid: Elasticsearch scales a range
// bound on a scaled_float in doubles, where 0.29 × 100 is 28.999…: a search
// finds the doc of price 0.29 with the bounds a list finds it with, and no
// other.
func TestSearchScaledFloatRangeBoundsOnTheGrid(t *testing.T) {
	s := crossStoreItem(t, row{"price": 0.29})
	for _, q := range []string{
		"price[lte]=0.29", "price[lt]=0.29", "price[gte]=0.29", "price[gt]=0.29",
		"price[lte]=0.28", "price[lt]=0.30", "price[gte]=0.30", "price[gt]=0.28",
		"price[lte]=0.295", "price[gte]=0.285", "price[lt]=0.2900", "price[gt]=0.289",
		"price[gte]=0.29&price[lte]=0.29",
	} {
		path := "/v1/views/it_pg/docs?" + q
		st, body := call(t, s.http.URL, path)
		mustStatus(t, path, st, http.StatusOK, body)
		want := len(docs(body))
		path = "/v1/views/it_es/search?min_position=items:0/0&" + q
		st, body = call(t, s.http.URL, path)
		mustStatus(t, path, st, http.StatusOK, body)
		if n := len(docs(body)); n != want {
			t.Errorf("GET %s: %d docs, want %d as the list gives", path, n, want)
		}
	}
}

// TestSearchDateFacetValueFiltersBack: a facet's value is a value of the
// field: the date field day facets as the doc holds it ("2022-01-08"), not
// Elasticsearch's "2022-01-08T00:00:00.000Z", and the value given back as
// a filter finds the doc.
func TestSearchDateFacetValueFiltersBack(t *testing.T) {
	s := crossStoreItem(t, row{"day": "2022-01-08"})
	path := "/v1/views/it_es/search?min_position=items:0/0&facets=day"
	st, body := call(t, s.http.URL, path)
	mustStatus(t, path, st, http.StatusOK, body)
	buckets, _ := body["facets"].(map[string]any)["day"].([]any)
	if len(buckets) != 1 {
		t.Fatalf("facets: %v", body)
	}
	val, _ := buckets[0].(map[string]any)["value"].(string)
	if val != "2022-01-08" {
		t.Errorf("facet day value %q, want %q as the doc holds it", val, "2022-01-08")
	}
	if d := docs(body); len(d) != 1 || d[0]["day"] != val {
		t.Errorf("docs %v: want day %q, the facet's value", body["docs"], val)
	}
	path = "/v1/views/it_es/search?day=" + url.QueryEscape(val)
	st, body = call(t, s.http.URL, path)
	if st != http.StatusOK || len(docs(body)) != 1 {
		t.Errorf("GET %s (the facet's value as a filter): %d %v, want the doc", path, st, body)
	}
}

// TestSearchRepeatedFacetsOrQRefused: facets and q are single-valued, like
// sort, limit and wait: given twice they are a 400 naming the parameter,
// not silently answered from the first (facets lists its fields
// comma-separated in one parameter).
func TestSearchRepeatedFacetsOrQRefused(t *testing.T) {
	s := newShop(t, shopOptions{})
	s.order(1, row{"status": "new", "note": "a", "total": "1.00"})
	s.caughtUp()
	for param, q := range map[string]string{
		"facets": "facets=status&facets=note",
		"q":      "q=gift&q=wrap",
	} {
		path := "/v1/views/orders/search?min_position=orders:0/0&" + q
		st, body := s.get(path)
		mustStatus(t, path, st, http.StatusBadRequest, body)
		if body["param"] != param {
			t.Errorf("GET %s: %v, want param %q", path, body, param)
		}
	}
	path := "/v1/views/orders/search?min_position=orders:0/0&facets=status,note"
	st, body := s.get(path)
	mustStatus(t, path, st, http.StatusOK, body)
	if f, _ := body["facets"].(map[string]any); f["status"] == nil || f["note"] == nil {
		t.Errorf("GET %s: facets %v, want status and note", path, body["facets"])
	}
}
