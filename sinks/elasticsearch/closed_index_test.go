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
