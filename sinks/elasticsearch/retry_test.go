package elasticsearch

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/projectorhq/projector/sinks"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

func fourDocs() []sinks.Doc {
	docs := make([]sinks.Doc, 4)
	for i := range docs {
		id := strconv.Itoa(i)
		docs[i] = sinks.Doc{View: "items", ID: id, Rev: 1, Fields: map[string]any{"title": "doc " + id}}
	}
	return docs
}

// Fault injection exists only in esfake, so these tests do not run against
// a real cluster.
func TestElasticsearchRetries(t *testing.T) {
	const retries = 2
	tests := []struct {
		name         string
		inject       func(srv *esfake.Server)
		wantFailed   []int // nil: Write returns nil
		wantRequests int   // bulk requests sent by the Write
	}{
		{"whole request 429 twice, then stored", func(srv *esfake.Server) {
			srv.FailNext(2, 429, "es_rejected_execution_exception")
		}, nil, 3},
		{"whole request 503 twice, then stored", func(srv *esfake.Server) {
			srv.FailNext(2, 503, "unavailable_shards_exception")
		}, nil, 3},
		{"whole request 502 once, then stored", func(srv *esfake.Server) {
			srv.FailNext(1, 502, "bad_gateway")
		}, nil, 2},
		{"items 429, then stored", func(srv *esfake.Server) {
			srv.FailDocs(2, 429, "es_rejected_execution_exception", "1", "2")
		}, nil, 3},
		{"item 503 once, then stored", func(srv *esfake.Server) {
			srv.FailDocs(1, 503, "unavailable_shards_exception", "3")
		}, nil, 2},
		{"items past the retries are reported exactly", func(srv *esfake.Server) {
			srv.FailDocs(retries+1, 429, "es_rejected_execution_exception", "1", "3")
		}, []int{1, 3}, retries + 1},
		{"whole request past the retries fails every doc", func(srv *esfake.Server) {
			srv.FailNext(retries+1, 503, "unavailable_shards_exception")
		}, []int{0, 1, 2, 3}, retries + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := fakeBackend(t)
			s := b.newSink(t, func(c *Config) { c.Retries = retries }, View{Name: "items", Fields: itemFields})
			tt.inject(b.fake)
			before := b.fake.BulkRequests()
			err := s.Write(context.Background(), fourDocs())
			if got := b.fake.BulkRequests() - before; got != tt.wantRequests {
				t.Errorf("bulk requests = %d, want %d", got, tt.wantRequests)
			}
			if tt.wantFailed == nil {
				if err != nil {
					t.Fatalf("Write: %v", err)
				}
			} else {
				if got := failedIndexes(t, err); !reflect.DeepEqual(got, tt.wantFailed) {
					t.Fatalf("failed = %v, want %v", got, tt.wantFailed)
				}
				for i, e := range err.(*sinks.BatchError).Failed {
					if !errors.Is(e, ErrUnavailable) {
						t.Errorf("#%d: %v, want ErrUnavailable", i, e)
					}
				}
			}
			failed := map[int]bool{}
			for _, i := range tt.wantFailed {
				failed[i] = true
			}
			for i, d := range fourDocs() {
				if got := b.get(t, b.prefix+"items", d.ID).found; got == failed[i] {
					t.Errorf("doc %s stored = %t, want %t", d.ID, got, !failed[i])
				}
			}
		})
	}
}

func TestElasticsearchNoRetries(t *testing.T) {
	b := fakeBackend(t)
	s := b.newSink(t, func(c *Config) { c.Retries = -1 }, View{Name: "items", Fields: itemFields})
	b.fake.FailDocs(1, 429, "es_rejected_execution_exception", "2")
	before := b.fake.BulkRequests()
	err := s.Write(context.Background(), fourDocs())
	if got := failedIndexes(t, err); !reflect.DeepEqual(got, []int{2}) {
		t.Fatalf("failed = %v, want [2]", got)
	}
	if n := b.fake.BulkRequests() - before; n != 1 {
		t.Fatalf("bulk requests = %d, want 1", n)
	}
}

func TestElasticsearchOutage(t *testing.T) {
	b := fakeBackend(t)
	s := b.newSink(t, nil, View{Name: "items", Fields: itemFields})
	b.fake.Down(true)
	err := s.Write(context.Background(), fourDocs())
	var be *sinks.BatchError
	if !errors.Is(err, ErrUnreachable) || errors.As(err, &be) {
		t.Fatalf("Write during outage = %v, want a whole-batch ErrUnreachable", err)
	}
	b.fake.Down(false)
	if err := s.Write(context.Background(), fourDocs()); err != nil {
		t.Fatalf("Write after outage: %v", err)
	}
	if n := b.count(t, b.prefix+"items"); n != 4 {
		t.Fatalf("count = %d, want 4", n)
	}
}

func TestElasticsearchWriteStopsWithContext(t *testing.T) {
	b := fakeBackend(t)
	s := b.newSink(t, func(c *Config) { c.MaxBackoff = time.Hour; c.Retries = 100 }, View{Name: "items"})
	b.fake.FailNext(1000, 429, "es_rejected_execution_exception")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := s.Write(ctx, fourDocs())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Write = %v, want context.DeadlineExceeded", err)
	}
}

func TestElasticsearchWholeRequestRejected(t *testing.T) {
	// A non-retryable whole-request status fails the batch as a whole (413
	// is not one: see TestElasticsearchLowerMaxContentLengthSplitsRequests).
	b := fakeBackend(t)
	s := b.newSink(t, nil, View{Name: "items"})
	b.fake.FailNext(1, 403, "security_exception")
	err := s.Write(context.Background(), fourDocs())
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 403 {
		t.Fatalf("Write = %v, want a 403 APIError", err)
	}
	var be *sinks.BatchError
	if errors.As(err, &be) {
		t.Fatal("want a whole-batch error, got a BatchError")
	}
}

func TestElasticsearchBackoffIsCappedAndGrows(t *testing.T) {
	s := &Sink{maxBackoff: time.Second}
	tests := []struct {
		name     string
		n        int
		min, max time.Duration
	}{
		{"first retry", 0, 50 * time.Millisecond, 100 * time.Millisecond},
		{"second retry", 1, 100 * time.Millisecond, 200 * time.Millisecond},
		{"capped", 10, 500 * time.Millisecond, time.Second},
		{"huge attempt count", 1000, 500 * time.Millisecond, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 100 {
				if d := s.backoff(tt.n); d < tt.min || d > tt.max {
					t.Fatalf("backoff(%d) = %v, want within [%v, %v]", tt.n, d, tt.min, tt.max)
				}
			}
		})
	}
}
