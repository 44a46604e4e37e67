package query

import (
	"fmt"
	"net/url"
	"testing"
)

// A facet's value is the field's value as the doc holds it, which filters
// back (doc.go): a boolean is JSON true/false in every doc, not
// Elasticsearch's key_as_string "true".
func TestSearchBooleanFacetValue(t *testing.T) {
	tk := newTickets(t,
		`{"id":1,"status":"open","note":"a","score":1,"urgent":true}`,
		`{"id":2,"status":"open","note":"b","score":1,"urgent":false}`,
		`{"id":3,"status":"open","note":"c","score":1,"urgent":true}`)
	p, _ := url.ParseQuery("facets=urgent")
	res, err := tk.s.Search(tk.ctx, "tickets", p)
	if err != nil {
		t.Fatal(err)
	}
	got := map[any]int64{}
	for _, f := range res.Facets["urgent"] {
		got[f.Value] = f.Count
	}
	if len(got) != 2 || got[true] != 2 || got[false] != 1 {
		t.Errorf("facet urgent: %#v, want {true: 2, false: 1} with JSON booleans as the docs hold them", res.Facets["urgent"])
	}
	// The value filters back.
	for _, f := range res.Facets["urgent"] {
		p, _ := url.ParseQuery("urgent=" + fmt.Sprint(f.Value))
		back, err := tk.s.Search(tk.ctx, "tickets", p)
		if err != nil {
			t.Fatalf("urgent=%v: %v", f.Value, err)
		}
		if back.Total != f.Count {
			t.Errorf("urgent=%v: %d docs, want the facet's count %d", f.Value, back.Total, f.Count)
		}
	}
}
