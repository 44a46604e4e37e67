package query

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// lowerDocBound makes the largest doc the Elasticsearch sink indexes
// (maxESDocBytes, 100 MB) n bytes for the test: the search's read bound
// follows from it, so a test of a doc near the bound needs megabytes, not
// a gigabyte.
func lowerDocBound(t *testing.T, n int64) {
	old := maxESDocBytes
	maxESDocBytes = n
	t.Cleanup(func() { maxESDocBytes = old })
}

// TestR29hSearchOfALargeDoc: the Elasticsearch sink indexes a doc of up
// to http.max_content_length (100 MB, sinks/elasticsearch/write.go
// maxContentLength), and a get or a list returns it, but esClient.do
// (search.go) read at most 64 MiB of a _search answer and then decoded
// the truncated JSON. The decoder's io.ErrUnexpectedEOF then passed
// storeUnavailable (errors.go), so every search whose page held that
// doc, even limit=1, answered 503 store_unavailable, "retry later": a
// healthy Elasticsearch was reported down, and no retry could ever
// succeed. The doc should come back, as a get and a list return it: the
// read is bounded by what a page can hold, limit docs of the sink's
// largest, here lowered to 2 MiB (with 100 MB, a 65 MB doc).
func TestR29hSearchOfALargeDoc(t *testing.T) {
	if b := searchAnswerBound(1, 3, 0); b < 100<<20 {
		t.Fatalf("with the sink's 100 MB docs, a page of one may take %d bytes, less than its doc", b)
	}
	lowerDocBound(t, 2<<20)
	tk := newTickets(t)
	for id := 1; id <= 3; id++ {
		tk.put(`{"id":` + strconv.Itoa(id) + `,"status":"open","note":"` + strings.Repeat("n", 2<<20-200) + `","score":1,"urgent":false}`)
	}
	for _, limit := range []string{"1", "3"} {
		st, body := tk.get("/v1/views/tickets/search?status=open&sort=id&limit=" + limit)
		if st != http.StatusOK {
			t.Fatalf("search of docs of nearly the sink's largest, limit %s: status %d, want 200: %v", limit, st, body["code"])
		}
		if docs, _ := body["docs"].([]any); strconv.Itoa(len(docs)) != limit {
			t.Fatalf("search, limit %s: %d docs", limit, len(docs))
		}
	}
}

// TestR29hSearchAnswerBeyondItsBound: an answer longer than any page of
// the request can be is not an outage (503 store_unavailable, "retry
// later"): it is a 502 saying so.
func TestR29hSearchAnswerBeyondItsBound(t *testing.T) {
	lowerDocBound(t, 1<<20)
	tk := newTickets(t)
	tk.put(`{"id":1,"status":"open","note":"` + strings.Repeat("n", 8<<20) + `","score":1,"urgent":false}`)
	st, body := tk.get("/v1/views/tickets/search?status=open&limit=1")
	if st != http.StatusBadGateway || body["code"] != "store_answer_too_long" {
		t.Fatalf("search answered beyond its bound: status %d code %v, want 502 store_answer_too_long", st, body["code"])
	}
}

// TestR29hSearchAnswerThatDoesNotDecode: an answer read whole that is not
// the JSON it should be is a 502, not store_unavailable; one the
// connection cuts short is a store that failed under the read (503).
func TestR29hSearchAnswerThatDoesNotDecode(t *testing.T) {
	tk := newTickets(t)
	for _, c := range []struct {
		name   string
		answer func(w http.ResponseWriter)
		status int
		code   string
	}{
		{"truncated JSON, read whole", func(w http.ResponseWriter) {
			w.Write([]byte(`{"hits":{"hits":[`))
		}, http.StatusBadGateway, "bad_store_answer"},
		{"cut by the connection", func(w http.ResponseWriter) {
			w.Header().Set("Content-Length", "1000")
			w.Write([]byte(`{"hits":{"hits":[`))
		}, http.StatusServiceUnavailable, "store_unavailable"},
	} {
		es := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { c.answer(w) }))
		tk.s.es = &esClient{base: es.URL, http: es.Client()}
		st, body := tk.get("/v1/views/tickets/search?status=open")
		es.Close()
		if st != c.status || body["code"] != c.code {
			t.Errorf("%s: status %d code %v, want %d %s", c.name, st, body["code"], c.status, c.code)
		}
	}
}
