package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/projectorhq/projector/sinks"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// r36bLongNumbers returns the length of each JSON number token of more
// than 1000 characters in the source lines of an NDJSON bulk body.
func r36bLongNumbers(body []byte) []int {
	var out []int
	for _, line := range bytes.Split(body, []byte("\n")) {
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		for {
			tok, err := dec.Token()
			if err != nil {
				break
			}
			if n, ok := tok.(json.Number); ok && len(n) > 1000 {
				out = append(out, len(n))
			}
		}
	}
	return out
}

// TestR36BLongNumericSentAsNumberLiteral: FAILS on the current code.
//
// README (The stores, Elasticsearch): decimals without a precision
// Elasticsearch can hold exactly (sums, averages, plain numeric) are
// mapped as keyword digits "with ignore_above: 8191, so a longer value is
// kept in _source but not indexed instead of refusing the document"; the
// decoder keeps PostgreSQL's numeric exactly, up to 131072 digits. The
// engine hands the sink a sum or average of numerics as a json.Number
// (projector/aggregate.go sumOrAvg: json.Number(sum.StringFixed(scale))),
// and numbers inside json/jsonb values as json.Number too, and Write
// encodes them as JSON number literals. Elasticsearch 8.8+ parses documents with Jackson's
// default maxNumberLength of 1000 (only maxStringLength is relaxed, see
// esfake TestR36BParserStreamConstraints) and refuses the whole document
// (400 document_parsing_exception, stream_constraints_exception): the sink
// dead-letters a document the README says Elasticsearch keeps, and the
// store keeps its old version. esfake takes any number, so the suite never
// sees it.
//
// The test runs the sink against esfake behind a handler that records
// every number token over 1000 characters the sink sends. Fix: encode a
// json.Number longer than 1000 characters as a JSON string (the keyword
// mapping takes the digits as text; the .number double sub-field has
// ignore_malformed); inside a json/jsonb value, where the number cannot
// become a string, refuse the doc before sending, saying why.
func TestR36BLongNumericSentAsNumberLiteral(t *testing.T) {
	fake := esfake.New()
	var mu sync.Mutex
	var seen []int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.HasSuffix(r.URL.Path, "/_bulk") {
			mu.Lock()
			seen = append(seen, r36bLongNumbers(body)...)
			mu.Unlock()
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()
	s, err := New(Config{URL: srv.URL, MaxBackoff: time.Millisecond}, []View{{Name: "totals", Fields: []Field{{"id", "bigint"}, {"total", "numeric"}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	// A sum over a plain numeric column, as aggregate.go gives it: 1,402 digits.
	total := json.Number("1" + strings.Repeat("0", 1400) + ".5")
	d := sinks.Doc{View: "totals", ID: "1", Key: map[string]any{"id": json.Number("1")}, Rev: 1,
		Fields: map[string]any{"id": json.Number("1"), "total": total}}
	if err := s.Write(ctx, []sinks.Doc{d}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) > 0 {
		t.Fatalf("the sink sent number literals of %v characters: Elasticsearch 8.8+ refuses a document holding a number token over 1000 characters (Jackson maxNumberLength), so this document, which the README says is kept, is refused and dead-lettered on a real cluster", seen)
	}
}
