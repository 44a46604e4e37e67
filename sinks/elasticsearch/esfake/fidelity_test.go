package esfake

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
)

// sortedIDs runs a search and returns the ids of its hits, sorted.
func sortedIDs(t *testing.T, f *fake, path, body string) []string {
	t.Helper()
	got := ids(t, f.must(t, http.MethodPost, path, body))
	sort.Strings(got)
	return got
}

// rawDo sends a request and returns the answer's body as text, for what
// decoding into float64 would hide (the digits of a long).
func (f *fake) rawDo(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(data)
}

// An _id longer than 512 bytes fails the whole bulk request with 400
// action_request_validation_exception, not one item; exactly 512 bytes is
// fine. Deletes are checked too (DeleteRequest.validate).
//
// Docs: "_id is limited to 512 bytes in size and larger values will be
// rejected." (https://www.elastic.co/guide/en/elasticsearch/reference/8.x/mapping-id-field.html).
// The rejection is BulkRequest.validate's, for the whole request:
// elastic/elasticsearch#54549 shows POST /_bulk with one long id answered
// with HTTP 400 {"error":{"type":"action_request_validation_exception",
// "reason":"Validation Failed: 1: id [...] is too long, must be no longer
// than 512 bytes but was: ...;"}} and the other, valid item not applied.
func TestBulkRejectsIDLongerThan512Bytes(t *testing.T) {
	f := start(t)
	long := strings.Repeat("a", 513)
	for _, action := range []string{
		`{"index":{"_index":"t","_id":"` + long + `"}}` + "\n" + `{"n":1}`,
		`{"delete":{"_index":"t","_id":"` + long + `"}}`,
	} {
		body := action + "\n" + `{"index":{"_index":"t","_id":"ok"}}
{"n":2}
`
		status, out := f.do(t, http.MethodPost, "/_bulk?refresh=true", body)
		if status != http.StatusBadRequest {
			t.Fatalf("bulk with a 513-byte _id: status %d (errors %v); want 400 action_request_validation_exception", status, out["errors"])
		}
		e, _ := out["error"].(map[string]any)
		if e["type"] != "action_request_validation_exception" || !strings.Contains(e["reason"].(string), "is too long, must be no longer than 512 bytes but was: 513") {
			t.Errorf("error = %v, want action_request_validation_exception: id ... is too long", e)
		}
		if st, _ := f.do(t, http.MethodGet, "/t/_doc/ok", ""); st == http.StatusOK {
			t.Errorf("the valid item of a rejected bulk request was applied")
		}
	}
	// 512 bytes, counted in UTF-8: 256 two-byte runes.
	edge := strings.Repeat("é", 256)
	out := f.must(t, http.MethodPost, "/_bulk", `{"index":{"_index":"t","_id":"`+edge+`"}}
{"n":1}
`)
	if it := item(t, out); it["status"] != float64(http.StatusCreated) {
		t.Errorf("512-byte _id: item %v, want 201", it)
	}
}

// A keyword value longer than Lucene's term limit (32766 bytes of UTF-8)
// without ignore_above fails the document (an item error with status 400);
// with an ignore_above it passes, the value is kept in _source and not
// indexed.
//
// Docs (ignore_above, 8.x): "This option is also useful for protecting
// against Lucene's term byte-length limit of 32766."
// (https://www.elastic.co/guide/en/elasticsearch/reference/8.6/ignore-above.html).
// Elasticsearch answers such an item with 400 and "Document contains at
// least one immense term in field=... (whose UTF8 encoding is longer than
// the max length 32766)", caused by max_bytes_length_exceeded_exception.
func TestKeywordImmenseTermRejected(t *testing.T) {
	f := start(t)
	f.must(t, http.MethodPut, "/t", `{"mappings":{"properties":{
		"k":{"type":"keyword"},
		"bounded":{"type":"keyword","ignore_above":8191},
		"txt":{"type":"text","fields":{"raw":{"type":"keyword"}}}}}}`)
	big := strings.Repeat("x", 40000)
	for _, field := range []string{"k", "txt"} {
		out := f.must(t, http.MethodPost, "/_bulk", `{"index":{"_index":"t","_id":"1"}}
{"`+field+`":"`+big+`"}
`)
		it := item(t, out)
		if st, _ := it["status"].(float64); st != http.StatusBadRequest || out["errors"] != true {
			t.Fatalf("40000-byte %s value: item status %v, errors %v; want 400 and errors true", field, it["status"], out["errors"])
		}
		e := it["error"].(map[string]any)
		if !strings.Contains(e["reason"].(string), "immense term") || e["caused_by"].(map[string]any)["type"] != "max_bytes_length_exceeded_exception" {
			t.Errorf("error = %v, want an immense term caused by max_bytes_length_exceeded_exception", e)
		}
	}
	// 10923 three-byte runes: 32769 bytes, under 32766 characters.
	wide := strings.Repeat("€", 10923)
	out := f.must(t, http.MethodPost, "/_bulk?refresh=true", `{"index":{"_index":"t","_id":"2"}}
{"k":"`+wide+`"}
{"index":{"_index":"t","_id":"3"}}
{"bounded":"`+big+`"}
{"index":{"_index":"t","_id":"4"}}
{"bounded":"short"}
`)
	items := out["items"].([]any)
	if st := items[0].(map[string]any)["index"].(map[string]any)["status"]; st != float64(http.StatusBadRequest) {
		t.Errorf("32769-byte keyword value: status %v, want 400 (the limit is in bytes)", st)
	}
	for i := 1; i < 3; i++ {
		if st := items[i].(map[string]any)["index"].(map[string]any)["status"]; st != float64(http.StatusCreated) {
			t.Errorf("item %d under ignore_above: status %v, want 201", i, st)
		}
	}
	if got := sortedIDs(t, f, "/t/_search", `{"query":{"exists":{"field":"bounded"}}}`); strings.Join(got, ",") != "4" {
		t.Errorf("exists bounded matched %v, want [4]: a value over ignore_above is not indexed", got)
	}
}

// Terms on a long field compare as 64-bit integers: two longs above 2^53
// that round to the same double are two values. A term with a fraction
// matches nothing (NumberFieldMapper LONG.termQuery), and a value beyond
// the long range is refused.
//
// Docs (numeric field types, 8.15): "long: A signed 64-bit integer with a
// minimum value of -2^63 and a maximum value of 2^63-1."
// (https://elastic.co/guide/en/elasticsearch/reference/8.15/number.html).
// The query API (internal/query/search.go esFilters) sends term filters and
// terms facets on bigint fields, which the sink maps to long.
func TestLongTermIsExact(t *testing.T) {
	f := start(t)
	f.must(t, http.MethodPut, "/t", `{"mappings":{"properties":{"n":{"type":"long"}}}}`)
	f.must(t, http.MethodPost, "/_bulk?refresh=true", `{"index":{"_index":"t","_id":"a"}}
{"n":9007199254740993}
{"index":{"_index":"t","_id":"b"}}
{"n":9007199254740992}
{"index":{"_index":"t","_id":"c"}}
{"n":1}
`)
	if got := sortedIDs(t, f, "/t/_search", `{"query":{"term":{"n":9007199254740993}}}`); strings.Join(got, ",") != "a" {
		t.Fatalf("term n=9007199254740993 matched %v, want only [a]", got)
	}
	if got := sortedIDs(t, f, "/t/_search", `{"query":{"term":{"n":1.5}}}`); len(got) != 0 {
		t.Errorf("term n=1.5 matched %v, want none", got)
	}
	// The terms aggregation has one bucket per long value, keyed exactly.
	out := f.must(t, http.MethodPost, "/t/_search", `{"size":0,"aggs":{"n":{"terms":{"field":"n","order":{"_key":"desc"}}}}}`)
	buckets := out["aggregations"].(map[string]any)["n"].(map[string]any)["buckets"].([]any)
	if len(buckets) != 3 {
		t.Fatalf("terms agg on three distinct longs: %d buckets %v, want 3", len(buckets), buckets)
	}
	status, raw := f.rawDo(t, http.MethodPost, "/t/_search", `{"size":0,"aggs":{"n":{"terms":{"field":"n","order":{"_key":"desc"}}}}}`)
	if status != http.StatusOK || !strings.Contains(raw, `"key":9007199254740993`) {
		t.Errorf("terms agg keys lose precision: %s", raw)
	}
	out = f.must(t, http.MethodPost, "/_bulk", `{"index":{"_index":"t","_id":"big"}}
{"n":9223372036854775808}
`)
	if st := item(t, out)["status"]; st != float64(http.StatusBadRequest) {
		t.Errorf("2^63 in a long: status %v, want 400", st)
	}
}

// A range with a fractional bound on a long field compares by value: 1 is
// not >= 1.5, and 1 is < 1.5.
//
// Docs: for integer fields "Range query terms can contain values with
// decimal parts. In this case Elasticsearch converts them to integer
// values: gte and gt terms are converted to the nearest integer up
// inclusive, and lt and lte ranges are converted to the nearest integer
// down inclusive." (unsigned_long,
// https://elastic.co/guide/en/elasticsearch/reference/8.x/unsigned-long.html;
// NumberFieldMapper's LONG.rangeQuery does the same for long). The query
// API sends such bounds: a numeric(p,0) column is mapped long and its
// filters accept any decimal (internal/query/values.go parseValue).
func TestRangeFractionalBoundOnLong(t *testing.T) {
	f := start(t)
	f.must(t, http.MethodPut, "/t", `{"mappings":{"properties":{"n":{"type":"long"}}}}`)
	f.must(t, http.MethodPost, "/_bulk?refresh=true", `{"index":{"_index":"t","_id":"one"}}
{"n":1}
{"index":{"_index":"t","_id":"two"}}
{"n":2}
{"index":{"_index":"t","_id":"minus"}}
{"n":-2}
`)
	for _, c := range []struct {
		op    string
		bound string
		want  string
	}{
		{"gte", "1.5", "two"}, {"gt", "1.5", "two"}, {"lt", "1.5", "minus,one"}, {"lte", "1.5", "minus,one"},
		{"gt", "1", "two"}, {"lt", "2", "minus,one"},
		{"gte", "-1.5", "one,two"}, {"lte", "-1.5", "minus"}, {"lt", "-2.5", ""},
		{"gte", "9007199254740992.5", ""},
	} {
		got := sortedIDs(t, f, "/t/_search", `{"query":{"range":{"n":{"`+c.op+`":`+c.bound+`}}}}`)
		if strings.Join(got, ",") != c.want {
			t.Errorf("range n %s %s matched %v, want [%s]", c.op, c.bound, got, c.want)
		}
	}
}

// A range on a scaled_float compares the stored scaled long with the
// bound × factor rounded by direction: ceil for a lower bound, floor for an
// upper one, after stepping past an exclusive bound
// (ScaledFloatFieldMapper.rangeQuery). So 59.90 is not >= 59.904, and not
// > 59.9. Stored values, terms and aggregation keys use the scaled value.
//
// Docs: scaled_float "A floating point number that is backed by a long,
// scaled by a fixed double scaling factor" (numeric field types,
// https://elastic.co/guide/en/elasticsearch/reference/8.15/number.html).
func TestRangeOnScaledFloatDoesNotRoundTheBound(t *testing.T) {
	f := start(t)
	f.must(t, http.MethodPut, "/t", `{"mappings":{"properties":{"p":{"type":"scaled_float","scaling_factor":100}}}}`)
	f.must(t, http.MethodPost, "/_bulk?refresh=true", `{"index":{"_index":"t","_id":"low"}}
{"p":59.90}
{"index":{"_index":"t","_id":"high"}}
{"p":60}
{"index":{"_index":"t","_id":"rounded"}}
{"p":59.899}
`)
	for _, c := range []struct{ query, want string }{
		{`{"range":{"p":{"gte":59.904}}}`, "high"},
		{`{"range":{"p":{"lte":59.896}}}`, ""},
		{`{"range":{"p":{"gt":59.9}}}`, "high"},
		{`{"range":{"p":{"gte":59.9}}}`, "high,low,rounded"},
		{`{"range":{"p":{"lt":60}}}`, "low,rounded"},
		{`{"term":{"p":59.9}}`, "low,rounded"},
		{`{"term":{"p":59.901}}`, "low,rounded"},
	} {
		if got := sortedIDs(t, f, "/t/_search", `{"query":`+c.query+`}`); strings.Join(got, ",") != c.want {
			t.Errorf("%s matched %v, want [%s]", c.query, got, c.want)
		}
	}
	out := f.must(t, http.MethodPost, "/t/_search", `{"size":0,"aggs":{"p":{"terms":{"field":"p","order":{"_key":"asc"}}},"s":{"sum":{"field":"p"}}}}`)
	aggs := out["aggregations"].(map[string]any)
	buckets := aggs["p"].(map[string]any)["buckets"].([]any)
	if len(buckets) != 2 || buckets[0].(map[string]any)["key"] != 59.9 || buckets[0].(map[string]any)["doc_count"] != 2.0 {
		t.Errorf("terms agg on p = %v, want 59.9 (2 docs) and 60", buckets)
	}
	if s := aggs["s"].(map[string]any)["value"].(float64); fmt.Sprintf("%.2f", s) != "179.80" {
		t.Errorf("sum of p = %v, want 179.8", s)
	}
}

// Index templates: Elasticsearch refuses a template whose patterns overlap
// another's (some index name matches both) at the same priority, and only
// then: "user-g*" and "user-groups-g*" overlap, "user-g1*" and
// "user-groups-g1*" do not; the same patterns at another priority, or the
// same template put again, are fine. Patterns use "*" as their only
// wildcard (Regex.simpleMatch).
func TestTemplateOverlapAtSamePriority(t *testing.T) {
	f := start(t)
	put := func(name, patterns string, prio int) int {
		t.Helper()
		status, _ := f.do(t, http.MethodPut, "/_index_template/"+name, fmt.Sprintf(`{"index_patterns":%s,"priority":%d}`, patterns, prio))
		return status
	}
	for _, c := range []struct {
		name, patterns string
		prio, want     int
	}{
		{"user", `["user-g*"]`, 200, 200},
		{"user", `["user-g*"]`, 200, 200}, // itself, again
		{"user-groups", `["user-groups-g*"]`, 200, 400},
		{"user-groups", `["user-groups-g*"]`, 211, 200},
		{"user1", `["user-g1*","user-g2*"]`, 300, 200},
		{"user-groups1", `["user-groups-g1*","user-groups-g2*"]`, 300, 200},
		{"a", `["a*b"]`, 10, 200},
		{"c", `["*c"]`, 10, 200}, // nothing both starts with a, ends with b and with c
		{"ab", `["*b"]`, 10, 400},
		{"q", `["x?*"]`, 20, 200},
		{"qy", `["xy*"]`, 20, 200}, // "?" is no wildcard
	} {
		if got := put(c.name, c.patterns, c.prio); got != c.want {
			t.Errorf("put template %s %s priority %d: status %d, want %d", c.name, c.patterns, c.prio, got, c.want)
		}
	}
	// The highest priority template that matches applies.
	f.must(t, http.MethodPut, "/_index_template/tagged", `{"index_patterns":["tag-*"],"priority":1,"template":{"mappings":{"properties":{"n":{"type":"keyword"}}}}}`)
	f.must(t, http.MethodPut, "/_index_template/tagged-long", `{"index_patterns":["tag-long-*"],"priority":2,"template":{"mappings":{"properties":{"n":{"type":"long"}}}}}`)
	f.must(t, http.MethodPut, "/tag-long-1", "")
	got := f.must(t, http.MethodGet, "/tag-long-1", "")
	if typ := got["tag-long-1"].(map[string]any)["mappings"].(map[string]any)["properties"].(map[string]any)["n"].(map[string]any)["type"]; typ != "long" {
		t.Errorf("n is %v, want long from the higher-priority template", typ)
	}
}

// An ip field compares addresses (IPv4 as IPv4-mapped IPv6), a term may be
// a CIDR block, and with ignore_malformed a value that is not an address
// (an inet with a netmask) leaves the doc stored without it.
func TestIPField(t *testing.T) {
	f := start(t)
	f.must(t, http.MethodPut, "/t", `{"mappings":{"properties":{
		"addr":{"type":"keyword","fields":{"ip":{"type":"ip","ignore_malformed":true}}},
		"strict":{"type":"ip"}}}}`)
	out := f.must(t, http.MethodPost, "/_bulk?refresh=true", `{"index":{"_index":"t","_id":"mask"}}
{"addr":"10.1.2.3/8"}
{"index":{"_index":"t","_id":"nine"}}
{"addr":"10.1.2.9"}
{"index":{"_index":"t","_id":"ten"}}
{"addr":"10.1.2.10"}
{"index":{"_index":"t","_id":"v6"}}
{"addr":"2001:db8::1"}
{"index":{"_index":"t","_id":"bad"}}
{"strict":"10.1.2.3/8"}
`)
	items := out["items"].([]any)
	if st := items[4].(map[string]any)["index"].(map[string]any)["status"]; st != float64(http.StatusBadRequest) {
		t.Errorf("a netmask in an ip field without ignore_malformed: status %v, want 400", st)
	}
	for _, c := range []struct{ query, want string }{
		{`{"range":{"addr.ip":{"gte":"10.1.2.9","lte":"10.1.2.10"}}}`, "nine,ten"},
		{`{"range":{"addr.ip":{"gt":"10.1.2.9"}}}`, "ten,v6"},
		{`{"term":{"addr.ip":"10.0.0.0/8"}}`, "nine,ten"},
		{`{"term":{"addr.ip":"::ffff:10.1.2.9"}}`, "nine"},
		{`{"term":{"addr":"10.1.2.3/8"}}`, "mask"},
		{`{"exists":{"field":"addr.ip"}}`, "nine,ten,v6"},
	} {
		if got := sortedIDs(t, f, "/t/_search", `{"query":`+c.query+`}`); strings.Join(got, ",") != c.want {
			t.Errorf("%s matched %v, want [%s]", c.query, got, c.want)
		}
	}
}

// TestDottedFieldNamesExpand: Elasticsearch expands dots in field names
// into object paths: {"a.b": …} is the field b of the object a, parsed by
// a.b's mapping (reference: "Field names with dots", object field type).
// So a non-numeric value of "a.b" is refused like {"a":{"b":"x"}}, the
// value is found by a query on a.b, and _source keeps the name as sent.
// A name beginning or ending with a dot is refused.
func TestDottedFieldNamesExpand(t *testing.T) {
	f := start(t)
	f.must(t, http.MethodPut, "/dots", `{"mappings":{"properties":{"a":{"properties":{"b":{"type":"long"}}}}}}`)
	item := func(id, src string) map[string]any {
		out := f.must(t, http.MethodPost, "/_bulk?refresh=true", `{"index":{"_index":"dots","_id":"`+id+`"}}`+"\n"+src+"\n")
		items, _ := out["items"].([]any)
		return items[0].(map[string]any)["index"].(map[string]any)
	}
	if r := item("1", `{"a":{"b":"x"}}`); r["status"] != float64(400) {
		t.Fatalf("nested form: %v, want 400", r)
	}
	if r := item("2", `{"a.b":"x"}`); r["status"] != float64(400) {
		t.Errorf("dotted field name {\"a.b\":\"x\"}: %v, want 400 document_parsing_exception as for {\"a\":{\"b\":\"x\"}}", r)
	}
	if r := item("3", `{"a.b":7}`); r["status"] != float64(201) {
		t.Fatalf("dotted 7: %v", r)
	}
	if r := item("4", `{"a.b":8,"a":{"b":9},"c.d":"new"}`); r["status"] != float64(201) {
		t.Fatalf("dotted and nested forms of one field: %v", r)
	}
	for _, tt := range []struct{ query, want string }{
		{`{"term":{"a.b":7}}`, "3"},
		{`{"term":{"a.b":8}}`, "4"},
		{`{"term":{"a.b":9}}`, "4"},
		{`{"term":{"c.d":"new"}}`, "4"},
	} {
		if got := sortedIDs(t, f, "/dots/_search", `{"query":`+tt.query+`}`); strings.Join(got, ",") != tt.want {
			t.Errorf("%s finds %v, want [%s]", tt.query, got, tt.want)
		}
	}
	// A dynamic field under a dotted name is mapped as an object.
	out := f.must(t, http.MethodGet, "/dots", "")
	props := out["dots"].(map[string]any)["mappings"].(map[string]any)["properties"].(map[string]any)
	if c, _ := props["c"].(map[string]any); c == nil || c["properties"].(map[string]any)["d"] == nil {
		t.Errorf("mapping of c.d: %v, want an object c with field d", props["c"])
	}
	if got := f.must(t, http.MethodGet, "/dots/_doc/3", ""); fmt.Sprint(got["_source"]) != "map[a.b:7]" {
		t.Errorf("_source %v, want the name as sent", got["_source"])
	}
	hit := f.must(t, http.MethodPost, "/dots/_search", `{"query":{"ids":{"values":["3"]}},"_source":["a.b"]}`)["hits"].(map[string]any)["hits"].([]any)[0]
	if src := hit.(map[string]any)["_source"]; fmt.Sprint(src) != "map[a.b:7]" {
		t.Errorf("filtered _source %v, want the name as sent", src)
	}
	for _, name := range []string{".a", "a.", "a..b"} {
		if r := item("bad", `{"`+name+`":1}`); r["status"] != float64(400) {
			t.Errorf("field name %q: %v, want 400", name, r)
		}
	}
}

// TestMaxContentLength: a request body longer than http.max_content_length
// is answered 413 with an empty body, and nothing in it is applied.
func TestMaxContentLength(t *testing.T) {
	f := start(t)
	f.SetMaxContentLength(100)
	body := `{"index":{"_index":"big","_id":"1"}}` + "\n" + `{"s":"` + strings.Repeat("x", 100) + `"}` + "\n"
	if status, data := f.rawDo(t, http.MethodPost, "/_bulk", body); status != http.StatusRequestEntityTooLarge || data != "" {
		t.Errorf("bulk over the limit: %d %q, want 413 and no body", status, data)
	}
	if f.BulkRequests() != 0 {
		t.Errorf("%d bulk requests handled, want 0", f.BulkRequests())
	}
	if status, _ := f.do(t, http.MethodHead, "/big", ""); status != http.StatusNotFound {
		t.Errorf("HEAD /big: %d, want 404: the request was applied", status)
	}
	f.must(t, http.MethodPost, "/_bulk", `{"index":{"_index":"big","_id":"1"}}`+"\n"+`{"s":"x"}`+"\n")
}
