package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/internal/redisconn"
	"github.com/projectorhq/projector/sinks"
	"github.com/projectorhq/projector/sinks/redis"
)

// OpenRedis builds the client of stores.redis.url (see redisconn.Open):
// a cluster client on a Redis Cluster, a single-node one otherwise. A URL
// no client takes is a configuration error. known is false when Redis did
// not answer whether it is a cluster node: the client is then a
// single-node one, which a redisconn.Deferred replaces once Redis says it
// is a cluster node (see pendingRedis).
func OpenRedis(ctx context.Context, url string, tune redisconn.Tuning) (c goredis.UniversalClient, known bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	c, known, err = redisconn.Open(ctx, url, tune)
	if err != nil {
		return nil, false, configErr(fmt.Errorf("stores.redis.url: %w", err))
	}
	return c, known, nil
}

// redisVerdict is what checking Redis (the sink's Check, or the question
// whether it is a cluster node) found.
type redisVerdict int

const (
	redisReady   redisVerdict = iota + 1
	redisWarned               // ready, with a warning worth logging
	redisRefused              // a setting of the server or of the URL, which no retry fixes
	redisDown                 // an outage: the writes are retried
	redisStopped              // the caller's context ended
)

// judgeRedis sorts what checking Redis answered, err: a wrong password,
// like an allkeys-* eviction policy, is a setting no retry fixes; an
// unreachable Redis is an outage like any later. The error returned says
// what to change.
func judgeRedis(ctx context.Context, err error) (redisVerdict, error) {
	switch {
	case err == nil:
		return redisReady, nil
	case goredis.IsAuthError(err):
		return redisRefused, fmt.Errorf("%w: %w (check the user and password in stores.redis.url)", ErrRedisAuth, err)
	case strings.Contains(err.Error(), "DB index is out of range"):
		return redisRefused, fmt.Errorf("stores.redis.url: %w (the database in the URL: this Redis has fewer, see its databases setting)", err)
	case errors.Is(err, redis.ErrEvictionPolicy), errors.Is(err, redis.ErrNoJSONModule), errors.Is(err, redis.ErrCluster):
		// Settings of the server the operator must change (or the view's
		// format): as invalid a configuration as a wrong password.
		return redisRefused, err
	case errors.Is(err, redisconn.ErrClusterDB), errors.Is(err, redisconn.ErrClusterNetwork):
		// A URL only a cluster refuses: known once the server answers.
		return redisRefused, fmt.Errorf("stores.redis.url: %w", err)
	case errors.Is(err, redis.ErrCheckIncomplete), errors.Is(err, redis.ErrVolatileEviction):
		return redisWarned, err
	case ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
		return redisStopped, err
	}
	return redisDown, err
}

// warnRedis logs what a check only warns of (redisWarned).
func warnRedis(log *slog.Logger, err error) {
	if errors.Is(err, redis.ErrCheckIncomplete) {
		// Managed services often deny INFO or COMMAND, or rename them:
		// worth a warning, not a refusal.
		log.Warn("cannot read redis's eviction policy or modules (projector's user may not run INFO or COMMAND, or they are renamed away): "+
			"unless the policy is noeviction, redis may evict the keys guarding revisions and an older replayed write could win", "err", err)
		return
	}
	log.Warn("redis may evict tombstones under memory pressure: a replay older than a delete could bring its doc back", "err", err)
}

// redisCheckTimeout bounds the start's checks of Redis.
const redisCheckTimeout = 5 * time.Second

// checkRedis refuses a Redis that would lose the revisions guarding the
// docs, lacks a module a view needs, or refuses projector's credentials,
// and warns of one that may evict tombstones early (see judgeRedis). Each
// refusal is marked ErrConfig: refusing to start says so at once, where
// retrying would look like an outage forever. An unreachable Redis is an
// outage like any later: its writes are retried, so the daemon starts
// anyway, and down says why it is not ready.
func checkRedis(ctx context.Context, sink *redis.Sink, log *slog.Logger) (down, err error) {
	ctx, cancel := context.WithTimeout(ctx, redisCheckTimeout)
	defer cancel()
	v, err := judgeRedis(ctx, sink.Check(ctx))
	return redisAtStart(v, err, log)
}

// redisAtStart is what the start makes of a verdict on Redis: a refusal
// fails it (ErrConfig), an outage is down.
func redisAtStart(v redisVerdict, err error, log *slog.Logger) (down, _ error) {
	switch v {
	case redisRefused:
		return nil, configErr(err)
	case redisWarned:
		warnRedis(log, err)
	case redisStopped:
		return nil, err // stopped while checking
	case redisDown:
		log.Warn("redis does not answer at start; its writes are retried", "err", err)
		return fmt.Errorf("does not answer at start: %w", err), nil
	}
	return nil, nil
}

// pendingRedis is the Redis sink of a daemon started while Redis did not
// say whether it is a Redis Cluster node (redisconn.Open's known false).
// Once Redis answers, the client is one of the right kind (client: a
// cluster client on a cluster node), the sink is built over it and the
// start's checks run (eviction policy, modules, credentials); only then do
// writes go through. Until then each write fails, to be retried by the
// engine as in any outage, and so does the Redis probe (guard): a problem
// the checks find is a readiness failure, logged once, until it is fixed.
//
// A Redis sink has no optional interface the engine looks for (it keeps
// no tombstones to purge): Name and Write are all it needs.
type pendingRedis struct {
	client *redisconn.Deferred
	views  []redis.View
	name   string // the sink's, in metrics, logs and readiness
	log    *slog.Logger

	mu      sync.Mutex  // held while settling
	sink    *redis.Sink // over client's client for good, once Redis said what it is
	refused string      // the refusal last logged
	ready   atomic.Pointer[redis.Sink]
}

func (p *pendingRedis) Name() string { return p.name }

func (p *pendingRedis) Write(ctx context.Context, docs []sinks.Doc) error {
	s, err := p.ensure(ctx)
	if err != nil {
		return err
	}
	return s.Write(ctx, docs)
}

// start is the start's check of Redis, as checkRedis's for a client made
// once Redis answered: Redis answering now is checked as it would have
// been then.
func (p *pendingRedis) start(ctx context.Context) (down, err error) {
	ctx, cancel := context.WithTimeout(ctx, redisCheckTimeout)
	defer cancel()
	p.mu.Lock()
	v, err := p.settle(ctx)
	p.mu.Unlock()
	return redisAtStart(v, err, p.log)
}

// ensure returns the sink once Redis said what it is and passed the
// checks, logging what they find; an error says why not yet.
func (p *pendingRedis) ensure(ctx context.Context) (*redis.Sink, error) {
	if s := p.ready.Load(); s != nil {
		return s, nil
	}
	ctx, cancel := context.WithTimeout(ctx, redisCheckTimeout) // as at start: a hung Redis must not hold a write
	defer cancel()
	p.mu.Lock()
	defer p.mu.Unlock()
	v, err := p.settle(ctx)
	switch v {
	case redisRefused:
		if msg := err.Error(); msg != p.refused {
			p.refused = msg
			p.log.Error("redis answers but refuses projector's writes; they are held and retried until it is fixed", "err", err)
		}
		return nil, err
	case redisDown, redisStopped:
		return nil, err
	case redisWarned:
		warnRedis(p.log, err)
	}
	if p.refused != "" {
		p.refused = ""
		p.log.Info("redis takes projector's writes again")
	}
	return p.ready.Load(), nil
}

// settle asks Redis what it is, builds the sink over the client of that
// kind, and checks Redis; it is called with p.mu held. The client, once
// Redis said, is for good: only the checks run again.
func (p *pendingRedis) settle(ctx context.Context) (redisVerdict, error) {
	if p.ready.Load() != nil {
		return redisReady, nil
	}
	if p.sink == nil {
		c, err := p.client.Resolve(ctx)
		if err != nil {
			// Named as Check's errors are.
			return judgeRedis(ctx, fmt.Errorf("redis sink: %w", err))
		}
		s, err := redis.New(c, p.views, redis.Options{})
		if err != nil {
			return redisRefused, err // the views passed New at start: not expected
		}
		p.sink = s
	}
	v, err := judgeRedis(ctx, p.sink.Check(ctx))
	if v == redisReady || v == redisWarned {
		p.ready.Store(p.sink)
	}
	return v, err
}

// guard is a Redis probe's ping over the client of the right kind, built
// by ping once Redis said what it is and passed the checks; until then the
// probe fails with what ensure says.
func (p *pendingRedis) guard(ping func(goredis.UniversalClient) func(context.Context) error) func(context.Context) error {
	var once sync.Once
	var built func(context.Context) error
	return func(ctx context.Context) error {
		if _, err := p.ensure(ctx); err != nil {
			return err
		}
		c, err := p.client.Resolve(ctx) // for good now: no question asked
		if err != nil {
			return err
		}
		once.Do(func() { built = ping(c) })
		return built(ctx)
	}
}
