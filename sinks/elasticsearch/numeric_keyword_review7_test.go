package elasticsearch

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/projectorhq/projector/sinks"
)

// TestReview7LongNumericNotRefused
//
// Scenario: a view field of type numeric without precision (every sum and
// avg aggregate, or a plain numeric column) holds a value with more than
// 32766 digits. PostgreSQL's numeric holds up to 131072 digits before the
// point and 16383 after, and the decoder keeps them exactly (debezium
// maxDecimalDigits = 147456). FieldMapping maps such a field as a keyword
// (mapping.go numericMapping) without ignore_above.
//
// Expected: the document is stored, the long value kept in _source but not
// indexed, as for every other keyword of unbounded text (README "The
// stores", Elasticsearch: "keywords of unbounded text … with ignore_above:
// 8191, so a longer value is kept in _source but not indexed instead of
// refusing the document"). Elasticsearch documents ignore_above as the
// protection "against Lucene's term byte-length limit of 32766"
// (reference/mapping-reference/ignore-above); without it Lucene refuses
// the whole document ("immense term"), and the sink refuses it for good.
func TestReview7LongNumericNotRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		s := b.newSink(t, nil, View{Name: "totals", Fields: []Field{{"id", "bigint"}, {"total", "numeric"}}})
		big := "1" + strings.Repeat("0", 40000) + ".5"
		d := sinks.Doc{View: "totals", ID: "1", Key: map[string]any{"id": json.Number("1")}, Rev: 1,
			Fields: map[string]any{"id": json.Number("1"), "total": big}}
		if err := s.Write(context.Background(), []sinks.Doc{d}); err != nil {
			t.Fatalf("a numeric of %d digits: %v, want it stored (kept in _source, not indexed)", len(big)-1, err)
		}
		got := b.get(t, b.prefix+"totals", "1")
		if !got.found || got.source["total"] != big {
			t.Fatalf("doc not stored with its exact total")
		}
	})
}
