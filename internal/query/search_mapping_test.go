package query

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks/elasticsearch"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// mappedYAML has the overrides of config/doc.go's example (status as a
// keyword), a text field an override leaves without a keyword sub-field,
// an unbounded numeric with the generated mapping (sum) and one an
// override indexes as bare keyword text (avg).
const mappedYAML = `
version: 1
kafka: { brokers: "localhost:9092", group: mapped }
stores:
  postgres: { url: "postgres://localhost/x" }
  elasticsearch: { url: "${ES}" }
sources:
  orders:
    topic: app.public.orders
    key: id
    columns: { id: bigint, status: text, note: text, sum: numeric, avg: numeric }
views:
  ov:
    from: orders
    fields: { id: id, status: status, note: note, sum: sum, avg: avg }
    sinks:
      elasticsearch:
        index: ov
        mappings:
          status: { type: keyword }
          note: { type: text }
          avg: { type: keyword }
`

// mappedServer is a query server over an esfake whose index "ov" has the
// mappings the sink's template gives mappedYAML's view, holding docs as
// the engine writes them (decimals as JSON numbers of exact digits).
func mappedServer(t *testing.T, docs ...string) *Server {
	t.Helper()
	es := esfake.New()
	es.Start()
	t.Cleanup(es.Close)
	env := map[string]string{"ES": es.URL()}
	cfg, err := config.Parse("m.yaml", []byte(mappedYAML), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	views, err := catalog(cfg, plan)
	if err != nil {
		t.Fatal(err)
	}
	props, err := esProperties(plan)
	if err != nil {
		t.Fatal(err)
	}
	esDo(t, es.URL(), http.MethodPut, "/ov", mustJSON(map[string]any{"mappings": map[string]any{"properties": props["ov"]}}))
	var bulk bytes.Buffer
	for i, d := range docs {
		bulk.WriteString(`{"index":{"_index":"ov","_id":"` + string(mustJSON(i)) + `"}}` + "\n" + d + "\n")
	}
	if len(docs) > 0 {
		esDo(t, es.URL(), http.MethodPost, "/_bulk?refresh=true", bulk.Bytes())
	}
	return &Server{plan: plan, views: views, es: &esClient{base: es.URL(), header: http.Header{}, http: http.DefaultClient}}
}

func esDo(t *testing.T, base, method, path string, body []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s: %d", method, path, res.StatusCode)
	}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

// searchIDs runs a search and returns the ids of its docs in order.
func searchIDs(t *testing.T, s *Server, params url.Values) ([]string, *SearchResult, error) {
	t.Helper()
	res, err := s.Search(context.Background(), "ov", params)
	if err != nil {
		return nil, nil, err
	}
	ids := []string{}
	for _, d := range res.Docs {
		var m map[string]any
		_ = json.Unmarshal(d, &m)
		ids = append(ids, string(mustJSON(m["id"])))
	}
	return ids, res, nil
}

// TestSearchFollowsMappingOverrides: the server compares a field where the
// view's mappings put it, overrides included: a status overridden to
// keyword is filtered, faceted and sorted on "status" (the generated
// mapping's "status.keyword" does not exist in that index), and a text
// field an override leaves without a keyword sub-field is refused with a
// 400 rather than matching nothing.
func TestSearchFollowsMappingOverrides(t *testing.T) {
	s := mappedServer(t, `{"id":0,"status":"paid","note":"gift"}`, `{"id":1,"status":"new","note":"rush"}`, `{"id":2,"status":"paid","note":"x"}`)
	got, res, err := searchIDs(t, s, url.Values{"status": {"paid"}, "facets": {"status"}, "sort": {"-id"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"2", "0"}) {
		t.Errorf("status=paid on a keyword-mapped status: ids %v, want [2 0]", got)
	}
	if f := res.Facets["status"]; len(f) != 1 || f[0].Value != "paid" || f[0].Count != 2 {
		t.Errorf("facets=status: %v, want paid: 2", res.Facets)
	}
	if got, _, err := searchIDs(t, s, url.Values{"sort": {"status"}, "q": {"gift rush"}}); err != nil || !slices.Equal(got, []string{"1", "0"}) {
		t.Errorf("q over the overridden text field, sorted by status: %v %v, want [1 0]", got, err)
	}
	for _, params := range []url.Values{{"note": {"gift"}}, {"sort": {"note"}}, {"facets": {"note"}}} {
		var e *Error
		if _, _, err := searchIDs(t, s, params); !errors.As(err, &e) || e.Status != http.StatusBadRequest {
			t.Errorf("%v on text without a keyword sub-field: %v, want a 400", params, err)
		}
	}
}

// TestSearchComparesUnboundedNumericsByValue: a numeric without precision
// (every sum and avg aggregate, a plain numeric column) is indexed as
// keyword digits with a double sub-field. Filters and sorts compare by
// value there, so 12.50 equals 12.5 and 9 < 10 < 100, not as text; facets
// count the digits as stored. Where an override leaves only the keyword,
// ranges and sorting are refused and equality matches the digits as
// written.
func TestSearchComparesUnboundedNumericsByValue(t *testing.T) {
	s := mappedServer(t, `{"id":0,"sum":9.00,"avg":9.00}`, `{"id":1,"sum":12.50,"avg":12.50}`, `{"id":2,"sum":100,"avg":100}`)
	if m := s.views["ov"].field("sum").ES; esType(m) != "keyword" {
		t.Fatalf("sum is mapped %v; this test is about keyword digits", m)
	}
	tests := []struct {
		name   string
		params url.Values
		want   []string
	}{
		{"range by value", url.Values{"sum[gte]": {"10"}, "sort": {"id"}}, []string{"1", "2"}},
		{"sort by value", url.Values{"sort": {"-sum"}}, []string{"2", "1", "0"}},
		{"equality by value, trailing zero", url.Values{"sum": {"12.5"}}, []string{"1"}},
		{"equality by value, as stored", url.Values{"sum": {"12.50"}}, []string{"1"}},
		{"in by value", url.Values{"sum[in]": {"9,100.0"}, "sort": {"id"}}, []string{"0", "2"}},
		{"keyword only: equality on the digits as written", url.Values{"avg": {"12.50"}}, []string{"1"}},
		{"keyword only: other digits do not match", url.Values{"avg": {"12.5"}}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := searchIDs(t, s, tt.params)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("%v: ids %v %v, want %v", tt.params, got, err, tt.want)
			}
		})
	}
	_, res, err := searchIDs(t, s, url.Values{"facets": {"sum"}})
	if err != nil || len(res.Facets["sum"]) != 3 || res.Facets["sum"][0].Value != "100" {
		t.Errorf("facets=sum: %v %v, want the stored digits", res, err)
	}
	for _, params := range []url.Values{{"avg[gte]": {"10"}}, {"sort": {"avg"}}} {
		var e *Error
		if _, _, err := searchIDs(t, s, params); !errors.As(err, &e) || e.Status != http.StatusBadRequest {
			t.Errorf("%v on a numeric indexed as bare keyword: %v, want a 400", params, err)
		}
	}
	if sub := elasticsearch.FieldMapping("sum", "numeric")["fields"]; sub == nil {
		t.Errorf("the generated mapping of numeric has no sub-field: %v", sub)
	}
}

// TestSearchOffsetWithinResultWindow: offset + limit may reach
// Elasticsearch's result window (10000) and no further, and the OpenAPI
// description says so rather than promising offsets up to 10000 whatever
// the limit.
func TestSearchOffsetWithinResultWindow(t *testing.T) {
	s := mappedServer(t, `{"id":0}`)
	for _, tt := range []struct {
		offset, limit string
		ok            bool
	}{
		{"9999", "1", true},
		{"9950", "50", true},
		{"9951", "50", false},
		{"9951", "", false}, // the default limit is 50
		{"10000", "1", false},
	} {
		params := url.Values{"offset": {tt.offset}}
		if tt.limit != "" {
			params.Set("limit", tt.limit)
		}
		_, _, err := searchIDs(t, s, params)
		var e *Error
		if tt.ok && err != nil || !tt.ok && (!errors.As(err, &e) || e.Code != "bad_offset") {
			t.Errorf("offset=%s limit=%s: %v, want ok=%v", tt.offset, tt.limit, err, tt.ok)
		}
	}
	op := openAPIParams(t, s, "/v1/views/ov/search")
	schema := op["offset"]["schema"].(map[string]any)
	if schema["maximum"] != 9999 || !strings.Contains(op["offset"]["description"].(string), "offset + limit must be at most 10000") {
		t.Errorf("OpenAPI offset: %v", op["offset"])
	}
}

// TestSearchOpenAPIFollowsMappings: the search operation offers the
// filters and sorts its mapping allows: none on text without a keyword
// sub-field, only eq and in on a numeric indexed as bare keyword, ranges
// on a numeric with the number sub-field.
func TestSearchOpenAPIFollowsMappings(t *testing.T) {
	s := mappedServer(t)
	op := openAPIParams(t, s, "/v1/views/ov/search")
	for name, want := range map[string]bool{
		"status": true, "status[gte]": true, "sum[gte]": true, "sum": true, "avg": true, "avg[in]": true,
		"avg[gte]": false, "note": false, "note[in]": false,
	} {
		if _, got := op[name]; got != want {
			t.Errorf("search parameter %s offered: %v, want %v", name, got, want)
		}
	}
	enum := fmt.Sprint(op["sort"]["schema"].(map[string]any)["enum"])
	if !strings.Contains(enum, "-sum") || strings.Contains(enum, "avg") || strings.Contains(enum, "note") {
		t.Errorf("search sort enum: %s", enum)
	}
}

// openAPIParams is the parameters of a GET operation by name.
func openAPIParams(t *testing.T, s *Server, path string) map[string]map[string]any {
	t.Helper()
	p, ok := s.OpenAPI(nil)["paths"].(map[string]any)[path].(map[string]any)
	if !ok {
		t.Fatalf("OpenAPI has no %s", path)
	}
	out := map[string]map[string]any{}
	for _, param := range p["get"].(map[string]any)["parameters"].([]any) {
		m := param.(map[string]any)
		out[m["name"].(string)] = m
	}
	return out
}
