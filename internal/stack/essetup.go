package stack

import (
	"context"
	"sync"
	"time"

	"github.com/projectorhq/projector/sinks"
	"github.com/projectorhq/projector/sinks/elasticsearch"
)

// setUpFirst is an Elasticsearch sink that did not answer at start. Its
// index templates, indices and aliases are put before its first write, and
// that write fails (to be retried by the engine, as in any outage) until
// they are: a document written before them would make Elasticsearch create
// the alias's name as an index of its own, with guessed mappings.
type setUpFirst struct {
	*elasticsearch.Sink
	// aliased are the views whose alias Setup puts on their index, noted
	// in the registry once it did (see lost.go).
	aliased []string
	note    func(context.Context, []string) error
	mu      sync.Mutex
	done    bool
}

func (s *setUpFirst) Write(ctx context.Context, docs []sinks.Doc) error {
	if err := s.ensure(ctx); err != nil {
		return err
	}
	return s.Sink.Write(ctx, docs)
}

// ensure puts the templates, indices and aliases once, and notes the
// aliases; an error leaves them to the next call.
func (s *setUpFirst) ensure(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return nil
	}
	if err := s.Setup(ctx); err != nil {
		return err
	}
	if err := s.note(ctx, s.aliased); err != nil {
		return err
	}
	s.done = true
	return nil
}

// PurgeTombstones purges nothing before the sink is set up: there are no
// tombstones yet, and asking a cluster that is down only fails.
func (s *setUpFirst) PurgeTombstones(ctx context.Context, olderThan time.Duration) (int64, error) {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if !done {
		return 0, nil
	}
	return s.Sink.PurgeTombstones(ctx, olderThan)
}
