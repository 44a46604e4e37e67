package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/projectorhq/projector/sinks"
)

// rawSource is the _source of a document in index as stored, its numbers
// kept as json.Number, so that a number and a string of the same digits
// differ.
func rawSource(t *testing.T, b *backend, index, id string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "/"+url.PathEscape(index)+"/_doc/"+url.PathEscape(id), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.client.Perform(req)
	if err != nil {
		t.Fatalf("get %s/%s: %v", index, id, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	var got struct {
		Found  bool           `json:"found"`
		Source map[string]any `json:"_source"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&got); err != nil || !got.Found {
		t.Fatalf("get %s/%s: %d %s", index, id, res.StatusCode, data)
	}
	return got.Source
}

// TestWriteNumberPastParserLimitAsString: Elasticsearch's parser refuses a
// document holding a number of more than 1000 digits, so the sink writes
// such a number (a sum of numerics, one inside a jsonb value) as a string
// of the same digits, and the document is stored; a number of 1000 digits
// is still a number.
func TestWriteNumberPastParserLimitAsString(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		s := b.newSink(t, nil, View{Name: "totals", Fields: []Field{{"id", "bigint"}, {"total", "numeric"}, {"data", "jsonb"}}})
		long := json.Number("-1" + strings.Repeat("0", 1399) + ".5e+12") // 1403 digits
		atLimit := json.Number("-" + strings.Repeat("9", 998) + ".5e1")  // 1000 digits
		d := sinks.Doc{View: "totals", ID: "1", Key: map[string]any{"id": json.Number("1")}, Rev: 1, Fields: map[string]any{
			"id": json.Number("1"), "total": long,
			"data": map[string]any{"sum": long, "list": []any{atLimit, long, "1" + string(long)}, "kept": atLimit},
		}}
		if err := s.Write(context.Background(), []sinks.Doc{d}); err != nil {
			t.Fatalf("Write: %v", err)
		}
		src := rawSource(t, b, b.prefix+"totals-g1", "1")
		want := map[string]any{
			"id": json.Number("1"), "total": string(long),
			"data": map[string]any{"sum": string(long), "list": []any{atLimit, string(long), "1" + string(long)}, "kept": atLimit},
		}
		gotJSON, _ := json.Marshal(src)
		wantJSON, _ := json.Marshal(want)
		if !bytes.Equal(gotJSON, wantJSON) {
			t.Fatalf("stored source:\n%.300s…\nwant:\n%.300s…", gotJSON, wantJSON)
		}
	})
}

// nested is v inside depth arrays.
func nested(v any, depth int) any {
	for range depth {
		v = []any{v}
	}
	return v
}

// TestWriteNestedPastParserLimitRefused: a document nested deeper than the
// 1000 levels Elasticsearch's parser takes (its own object counts one) is
// refused before it is sent, on its own, for good; one at the limit is
// stored.
func TestWriteNestedPastParserLimitRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		s := b.newSink(t, nil, View{Name: "deep", Fields: []Field{{"id", "bigint"}, {"data", "jsonb"}}})
		doc := func(id string, depth int) sinks.Doc {
			return sinks.Doc{View: "deep", ID: id, Key: map[string]any{"id": json.Number(id)}, Rev: 1,
				Fields: map[string]any{"id": json.Number(id), "data": nested(json.Number("1"), depth)}}
		}
		err := s.Write(context.Background(), []sinks.Doc{doc("1", maxNestingDepth-1), doc("2", maxNestingDepth)})
		var be *sinks.BatchError
		if !errors.As(err, &be) || len(be.Failed) != 1 {
			t.Fatalf("Write = %v, want the doc nested %d deep refused alone", err, maxNestingDepth+1)
		}
		if f := be.Failed[1]; !errors.Is(f, sinks.ErrRefused) || !errors.Is(f, ErrInvalidDoc) || !strings.Contains(f.Error(), "1001 levels deep") {
			t.Fatalf("doc nested %d deep failed with %v, want refused as an invalid doc saying how deep", maxNestingDepth+1, f)
		}
		if got := b.get(t, b.prefix+"deep", "1"); !got.found {
			t.Fatalf("doc nested %d deep, which Elasticsearch takes, not stored", maxNestingDepth)
		}
		if got := b.get(t, b.prefix+"deep", "2"); got.found {
			t.Fatalf("doc nested too deep was stored")
		}
	})
}

// TestScanSource: the scan finds the nesting and the long numbers of a
// JSON text, not the digits and brackets inside its strings.
func TestScanSource(t *testing.T) {
	digits := strings.Repeat("1", maxNumberDigits)
	for _, tc := range []struct {
		name, src string
		depth     int
		long      []string
	}{
		{"flat", `{"a":1}`, 1, nil},
		{"at the limit", `{"a":-` + digits + `}`, 1, nil},
		{"integer past it", `{"a":-` + digits + `1}`, 1, []string{"-" + digits + "1"}},
		{"fraction and exponent count", `[1.` + digits[1:] + `e+1,2]`, 1, []string{"1." + digits[1:] + "e+1"}},
		{"in strings", `{"[[\"` + digits + `1\\":"{` + digits + `1"}`, 1, nil},
		{"nested", `{"a":[[{"b":[]}],[]],"c":{}}`, 5, nil},
		{"several", `[` + digits + `1,[` + digits + `2]]`, 2, []string{digits + "1", digits + "2"}},
	} {
		depth, long := scanSource([]byte(tc.src))
		var got []string
		for _, sp := range long {
			got = append(got, tc.src[sp.start:sp.end])
		}
		if depth != tc.depth || strings.Join(got, "|") != strings.Join(tc.long, "|") {
			t.Errorf("%s: depth %d, long %.40q; want %d, %.40q", tc.name, depth, got, tc.depth, tc.long)
		}
	}
}
