package stack

import (
	"context"
	"fmt"
	"sync/atomic"

	goredis "github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/internal/redisconn"
	"github.com/projectorhq/projector/sinks/redis"
)

// OpenRedis builds the client of stores.redis.url (see redisconn.Open):
// a cluster client on a Redis Cluster, a single-node one otherwise. A URL
// no client takes is a configuration error. known is false when Redis did
// not answer whether it is a cluster node: the client is then a
// single-node one, which redisModeGuard watches.
func OpenRedis(ctx context.Context, url string, tune redisconn.Tuning) (c goredis.UniversalClient, known bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	c, known, err = redisconn.Open(ctx, url, tune)
	if err != nil {
		return nil, false, configErr(fmt.Errorf("stores.redis.url: %w", err))
	}
	return c, known, nil
}

// redisModeGuard wraps the Redis probe's ping when the client was made
// before Redis said whether it is a cluster node (known false): until it
// says, each ping asks first, and a cluster node fails the probe with
// redis.ErrCluster, which names the fix (a restart), where writes would
// only meet MOVED.
func redisModeGuard(c goredis.UniversalClient, known bool, ping func(context.Context) error) func(context.Context) error {
	single, ok := c.(*goredis.Client)
	if known || !ok {
		return ping
	}
	var standalone atomic.Bool
	return func(ctx context.Context) error {
		if !standalone.Load() {
			cluster, err := redisconn.IsCluster(ctx, single)
			switch {
			case cluster:
				return fmt.Errorf("redis: %w", redis.ErrCluster)
			case err != nil && !goredis.IsPermissionError(err):
				return err
			}
			standalone.Store(true)
		}
		return ping(ctx)
	}
}
