package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/internal/redisconn"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
)

// notChecked is a store's problem until its first ping answers.
const notChecked = "not checked yet"

// Stores watches the stores a query server reads, for the /readyz of
// `projector serve`, with the same pings as WatchStores: serve wires no
// engine to report to, so Stores keeps the verdicts. It has connections of
// its own, one at a time per store, so that pings say whether a store
// answers, not whether the query server's pool has a free connection.
type Stores struct {
	probes  []probe
	closers []func()
	log     *slog.Logger

	mu       sync.Mutex
	problems map[string]string // component → why it is not ready
}

// OpenStores prepares a ping for the query PostgreSQL ("postgres"), and
// for Redis and Elasticsearch when a view reads them and their URL is
// set. It contacts nothing; until Watch's first ping of a store, the
// store is not ready.
func OpenStores(cfg *config.Config, plan *projections.Plan, log *slog.Logger) (_ *Stores, err error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Stores{log: log, problems: map[string]string{}}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	pcfg, err := pgxpool.ParseConfig(cfg.Stores.Postgres.URL)
	if err != nil {
		return nil, configErr(fmt.Errorf("stores.postgres.url: %w", err))
	}
	pcfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(context.Background(), pcfg) // connects lazily
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s.closers = append(s.closers, pool.Close)
	s.probes = append(s.probes, postgresProbe(pool, registry.StorePostgres))
	if len(RedisViews(plan)) > 0 && cfg.Stores.Redis.URL != "" {
		if err := redisconn.Check(cfg.Stores.Redis.URL); err != nil {
			return nil, configErr(fmt.Errorf("stores.redis.url: %w", err))
		}
		lazy := &lazyRedis{url: cfg.Stores.Redis.URL}
		s.closers = append(s.closers, lazy.close)
		s.probes = append(s.probes, probe{components: []string{registry.StoreRedis}, ping: lazy.ping})
	}
	if views := ElasticsearchViews(plan); len(views) > 0 && cfg.Stores.Elasticsearch.URL != "" {
		sink, err := newElasticsearch(cfg.Stores.Elasticsearch, views)
		if err != nil {
			return nil, err
		}
		s.probes = append(s.probes, elasticsearchProbe(sink, views, nil))
	}
	for _, p := range s.probes {
		for _, c := range p.components {
			s.problems[c] = notChecked
		}
	}
	return s, nil
}

// Watch pings every store at once, then every interval, until ctx ends.
func (s *Stores) Watch(ctx context.Context, interval time.Duration) {
	watchProbes(ctx, s.probes, interval, s.report, s.log)
}

func (s *Stores) report(component string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		// In words anyone reaching the admin port may read, as the
		// engine's (Engine.Problems).
		s.problems[component] = projector.PublicCause(err).Error()
	} else {
		delete(s.problems, component)
	}
}

// Problems is what keeps the stores from being ready: component →
// problem, as /readyz shows it. Empty means every store answers.
func (s *Stores) Problems() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.problems)
}

// Close releases the connections.
func (s *Stores) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// lazyRedis is the Redis probe of Stores: its client is made at the first
// ping Redis answers, when Redis can say whether it is a cluster node.
type lazyRedis struct {
	url string
	mu  sync.Mutex
	rdb goredis.UniversalClient // nil until Redis answers
}

func (l *lazyRedis) ping(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rdb == nil {
		rdb, known, err := redisconn.Open(ctx, l.url, redisconn.Tuning{PoolSize: 1})
		if err != nil {
			return err
		}
		if !known {
			err := redisconn.Ping(ctx, rdb)
			_ = rdb.Close()
			if err == nil {
				err = errors.New("redis did not say whether it is a cluster node")
			}
			return err
		}
		l.rdb = rdb
	}
	return redisconn.Ping(ctx, l.rdb)
}

func (l *lazyRedis) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rdb != nil {
		_ = l.rdb.Close()
		l.rdb = nil
	}
}
