package query

import (
	"context"
	"sync"

	goredis "github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/internal/redisconn"
)

// redisClient is the client gets read Redis with. Made while Redis did not
// answer (see stack.OpenRedis), it is a single-node client that does not
// know whether its server is a Redis Cluster node: until the server says,
// each read asks first, and a cluster node has it replaced by a cluster
// client, which follows the slots; the single-node one would meet MOVED
// for every key of another master, for as long as the server runs.
type redisClient struct {
	url  string
	tune redisconn.Tuning

	mu      sync.Mutex
	c       goredis.UniversalClient
	known   bool
	retired []goredis.UniversalClient // replaced, closed with the server: reads may still use them
}

// client returns the client to read with.
func (r *redisClient) client(ctx context.Context) goredis.UniversalClient {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.known {
		return r.c
	}
	single, ok := r.c.(*goredis.Client)
	if !ok {
		r.known = true
		return r.c
	}
	cluster, err := redisconn.IsCluster(ctx, single)
	switch {
	case err != nil && !goredis.IsPermissionError(err):
		return r.c // not answering yet: the read says why, and falls back
	case err != nil || !cluster:
		r.known = true // denied both questions: as Open takes it
		return r.c
	}
	c, known, err := redisconn.Open(ctx, r.url, r.tune)
	if err != nil || !known {
		if c != nil {
			_ = c.Close()
		}
		return r.c // asked again at the next read
	}
	r.retired = append(r.retired, r.c)
	r.c, r.known = c, true
	return c
}

func (r *redisClient) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range append(r.retired, r.c) {
		_ = c.Close()
	}
	r.retired = nil
}
