package query

import (
	"context"
	"sync"

	goredis "github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/internal/redisconn"
)

// redisClient is the client gets read Redis with: c as stack.OpenRedis
// made it of url with tune, and known as it said. Made while Redis did not
// answer, c is a single-node client that does not know whether its server
// is a Redis Cluster node: until the server says, each read asks first,
// and a cluster node has it replaced by a cluster client, which follows
// the slots (see redisconn.Deferred, which the daemon's Redis sink uses
// too).
type redisClient struct {
	url   string
	tune  redisconn.Tuning
	c     goredis.UniversalClient
	known bool

	once     sync.Once
	deferred *redisconn.Deferred // of the fields above, at the first use
}

func (r *redisClient) resolver() *redisconn.Deferred {
	r.once.Do(func() { r.deferred = redisconn.NewDeferred(r.url, r.tune, r.c, r.known) })
	return r.deferred
}

// client returns the client to read with. One whose server has not said
// what it is yet is the single-node one: the read says why, and falls
// back.
func (r *redisClient) client(ctx context.Context) goredis.UniversalClient {
	c, _ := r.resolver().Resolve(ctx)
	return c
}

// close closes the client and those it replaced (reads may still have
// used them until now).
func (r *redisClient) close() { _ = r.resolver().Close() }
