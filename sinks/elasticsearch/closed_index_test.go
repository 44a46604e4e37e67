package elasticsearch

import (
	"context"
	"errors"
	"testing"

	"github.com/projectorhq/projector/sinks"
)

// TestClosedIndexIsNotRefused: an index an operator closed (to change
// its analysis settings, say) answers each bulk item with 400
// index_closed_exception (Elasticsearch's status for it since 6.0,
// elastic/elasticsearch#25752). That is the cluster's state, not the
// document's fault: once the index is open again the same doc is taken, so
// it must be retried, never set aside as sinks.ErrRefused.
func TestClosedIndexIsNotRefused(t *testing.T) {
	b := fakeBackend(t)
	s := b.newSink(t, nil, View{Name: "items", Fields: itemFields})
	b.fake.FailDocs(1, 400, "index_closed_exception", "1")
	doc := sinks.Doc{View: "items", ID: "1", Rev: 1, Fields: map[string]any{"title": "fine"}}
	err := s.Write(context.Background(), []sinks.Doc{doc})
	var be *sinks.BatchError
	if errors.As(err, &be) && errors.Is(be.Failed[0], sinks.ErrRefused) {
		again := s.Write(context.Background(), []sinks.Doc{doc})
		t.Fatalf("doc refused for good on a closed index: %v; the same doc once the index is open: %v", be.Failed[0], again)
	}
}

// TestDocumentsFault: the 400 items refused for good are those about the
// document (what no retry changes); the others are the cluster's state.
func TestDocumentsFault(t *testing.T) {
	for _, tc := range []struct {
		typ, reason string
		want        bool
	}{
		{"document_parsing_exception", "[1:10] failed to parse field [at] of type [date]", true},
		{"mapper_parsing_exception", "failed to parse field [n] of type [long]", true},
		{"strict_dynamic_mapping_exception", "mapping set to strict, dynamic introduction of [x] is not allowed", true},
		{"illegal_argument_exception", "Document contains at least one immense term in field=\"t\"", true},
		{"illegal_argument_exception", "Limit of total fields [1000] has been exceeded while adding new fields [3]", true},
		{"illegal_argument_exception", "no write index is defined for alias [items]", false},
		{"index_closed_exception", "closed", false},
		{"cluster_block_exception", "index [items-g1] blocked by: [FORBIDDEN/8/index write (api)]", false},
	} {
		if got := documentsFault(&APIError{Status: 400, Type: tc.typ, Reason: tc.reason}); got != tc.want {
			t.Errorf("%s: %q: refused %v, want %v", tc.typ, tc.reason, got, tc.want)
		}
	}
}
