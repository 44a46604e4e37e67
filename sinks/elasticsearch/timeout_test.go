package elasticsearch

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestRequestTimeout: a cluster that takes requests and never answers (a
// connection that died without a reset looks the same) fails each request
// once RequestTimeout has passed, as unreachable: an outage the engine
// retries, not a write that holds the partition for ever.
func TestRequestTimeout(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(hang) })
	s, err := New(Config{URL: srv.URL, Retries: -1, RequestTimeout: 50 * time.Millisecond}, []View{{Name: "items", Fields: itemFields}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Far beyond the timeout: only there to end the test without the fix.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for name, call := range map[string]func() error{
		"write": func() error { return s.Write(ctx, fourDocs()) },
		"setup": func() error { return s.Setup(ctx) },
	} {
		err := call()
		switch {
		case ctx.Err() != nil:
			t.Fatalf("%s waited for the cluster until the test gave up: %v", name, err)
		case !errors.Is(err, ErrUnreachable) && !errors.Is(err, ErrUnavailable):
			t.Errorf("%s: %v, want an outage (unreachable or unavailable)", name, err)
		}
	}
}
