package stack

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/sinks"
	"github.com/projectorhq/projector/sinks/elasticsearch"
)

// esStart is what a start checks and puts in Elasticsearch before the
// views' first write: readers must not search, through an alias, a later
// generation than the one written (checkAliasesBehind); an alias deployed
// and gone since is left to a rebuild (markLostAliases); then the
// templates, indices and the other aliases (Setup).
type esStart struct {
	sink     *elasticsearch.Sink
	views    []elasticsearch.View
	recorded map[string]registry.Definition
}

// setUp runs the checks and Setup, each bounded by bound, and returns the
// views whose alias is on their index. An error wrapping ErrUnreachable
// or ErrUnavailable (a deadline of bound included) is an outage.
func (e esStart) setUp(ctx context.Context, served registry.Snapshot, bound time.Duration) (aliased []string, err error) {
	steps := []func(context.Context) error{
		func(ctx context.Context) error { return checkAliasesBehind(ctx, e.sink, e.views, served) },
		func(ctx context.Context) (err error) {
			aliased, err = markLostAliases(ctx, e.sink, e.views, e.recorded)
			return err
		},
		e.sink.Setup,
	}
	for _, step := range steps {
		if err := boundedStep(ctx, bound, step); err != nil {
			return nil, err
		}
	}
	return aliased, nil
}

// boundedStep runs step within bound when bound is not 0: a cluster that
// accepts connections and never answers must not hold a start.
func boundedStep(ctx context.Context, bound time.Duration, step func(context.Context) error) error {
	if bound == 0 {
		return step(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	return step(ctx)
}

// esOutage tells an Elasticsearch that does not answer (a transport
// failure, 429 or 5xx) from one that refuses.
func esOutage(err error) bool {
	return errors.Is(err, elasticsearch.ErrUnreachable) || errors.Is(err, elasticsearch.ErrUnavailable)
}

// setUpFirst is an Elasticsearch sink that did not answer at start. The
// start's checks, and its index templates, indices and aliases, are run
// before its first write, and that write fails (to be retried by the
// engine, as in any outage) until they pass: a document written before
// them would make Elasticsearch create the alias's name as an index of its
// own, with guessed mappings, or an empty index behind an alias lost with
// its index, or one behind the later generation readers search.
type setUpFirst struct {
	*elasticsearch.Sink
	start esStart
	// served reads the generations the registry serves now: a rebuild may
	// have registered the one readers search since the start.
	served func(context.Context) (registry.Snapshot, error)
	// note records, in the registry, the views whose alias Setup put on
	// their index (see lost.go).
	note func(context.Context, []string) error
	mu   sync.Mutex // held by ensure
	done atomic.Bool
}

func (s *setUpFirst) Write(ctx context.Context, docs []sinks.Doc) error {
	if err := s.ensure(ctx); err != nil {
		return err
	}
	return s.Sink.Write(ctx, docs)
}

// ensure runs the start's checks and setup once, and notes the aliases;
// an error (a refusal too) leaves them to the next call.
func (s *setUpFirst) ensure(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done.Load() {
		return nil
	}
	served, err := s.served(ctx)
	if err != nil {
		return registryError{err}
	}
	aliased, err := s.start.setUp(ctx, served, 0)
	if err != nil {
		return err
	}
	if err := s.note(ctx, aliased); err != nil {
		return registryError{err}
	}
	s.done.Store(true)
	return nil
}

// behind is checkAliasesBehind until the sink is set up, for readiness: a
// refusal holds the writes back, and must make the store unready with its
// reason even when no write fails. A registry that cannot be read is left
// to the probe of PostgreSQL ("state"), not blamed on Elasticsearch.
func (s *setUpFirst) behind(ctx context.Context) error {
	if s.done.Load() {
		return nil
	}
	served, err := s.served(ctx)
	if err != nil {
		return nil
	}
	return checkAliasesBehind(ctx, s.Sink, s.start.views, served)
}

// registryError is a registry that could not be read, which the probe of
// PostgreSQL ("state") reports, not Elasticsearch's.
type registryError struct{ error }

func (e registryError) Unwrap() error { return e.error }

// guard makes p set the sink up as soon as the cluster answers, rather than
// at the first write, which on a quiet stream may come much later: until
// then the alias is on no index, which p would report as lost. Then p fails
// with behind's refusal first, and a setup's failure last.
func (s *setUpFirst) guard(p probe) probe {
	ping := p.ping
	p.ping = func(ctx context.Context) error {
		setUp := s.ensure(ctx)
		if err := s.behind(ctx); err != nil {
			return err
		}
		if err := ping(ctx); err != nil {
			return err
		}
		if errors.As(setUp, new(registryError)) {
			return nil
		}
		return setUp
	}
	return p
}

// PurgeTombstones purges nothing before the sink is set up: there are no
// tombstones yet, and asking a cluster that is down only fails.
func (s *setUpFirst) PurgeTombstones(ctx context.Context, olderThan time.Duration) (int64, error) {
	if !s.done.Load() {
		return 0, nil
	}
	return s.Sink.PurgeTombstones(ctx, olderThan)
}
