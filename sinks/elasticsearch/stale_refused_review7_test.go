package elasticsearch

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/projectorhq/projector/sinks"
)

// TestReview7StaleDocRefusedByMappingIsStale
//
// Scenario: doc 1 is stored at rev 2. A replay (or a late write from
// another instance) brings rev 1 of the same doc, whose "qty" the mapping
// (long) cannot parse. Elasticsearch parses a document before it checks its
// version (IndexShard.prepareIndex parses; the engine's version check comes
// after), so the answer is a 400 document_parsing_exception, not a 409.
//
// Expected (README "Refused documents": "An outdated version of a document
// (a newer one is already stored) is stale, never refused, in every
// store"): Write returns nil and counts the doc stale, as the PostgreSQL
// sink does (TestStaleDocNotRefused) and the Redis sink does (dropStale).
// The ES sink instead reports it refused (bulk → documentsFault →
// sinks.Refused, write.go), so the engine dead-letters a doc that never
// mattered and, with errors.tolerance: none, stops the consumer.
func TestReview7StaleDocRefusedByMappingIsStale(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		s := b.newSink(t, nil, View{Name: "items", Fields: itemFields})
		doc := func(rev int64, qty string) sinks.Doc {
			return sinks.Doc{View: "items", ID: "1", Key: map[string]any{"id": json.Number("1")}, Rev: rev,
				Fields: map[string]any{"id": json.Number("1"), "title": "t", "qty": qty}}
		}
		if err := s.Write(context.Background(), []sinks.Doc{doc(2, "5")}); err != nil {
			t.Fatal(err)
		}
		before := s.Stale()
		if err := s.Write(context.Background(), []sinks.Doc{doc(1, "not a number")}); err != nil {
			t.Fatalf("an older doc the mapping refuses: %v, want it skipped as stale (rev 2 is stored)", err)
		}
		if s.Stale() != before+1 {
			t.Errorf("stale count %d, want %d", s.Stale(), before+1)
		}
	})
}
