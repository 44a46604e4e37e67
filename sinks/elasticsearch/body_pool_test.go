package elasticsearch

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/projectorhq/projector/sinks"
)

// TestEarlyAnswerKeepsBodyOutOfPool: a cluster that answers a _bulk before
// reading its body (a 413 on the Content-Length alone) makes Perform
// return while the transport is still writing the body. Writes running
// meanwhile must not be given that buffer to encode into: under -race the
// transport's reads and the next Write's encoding would be reported.
func TestEarlyAnswerKeepsBodyOutOfPool(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/_bulk") {
			w.WriteHeader(http.StatusRequestEntityTooLarge) // body unread
			return
		}
		w.WriteHeader(http.StatusNotFound) // dropStale's look-up
	}))
	t.Cleanup(srv.Close)
	s, err := New(Config{URL: srv.URL, Retries: -1}, []View{{Name: "items", Fields: itemFields}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	big := strings.Repeat("x", 4<<20) // more than the sockets' buffers take
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				doc := sinks.Doc{View: "items", ID: "big", Rev: 1, Fields: map[string]any{"title": big}}
				err := s.Write(context.Background(), []sinks.Doc{doc})
				var be *sinks.BatchError
				if !errors.As(err, &be) || !errors.Is(be.Failed[0], ErrTooLarge) {
					t.Errorf("writer %d: %v, want the doc refused as too large", w, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
