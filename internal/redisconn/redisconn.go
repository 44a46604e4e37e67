// Package redisconn builds the Redis client of a store URL
// (stores.redis.url) for every part of projector that talks to Redis: the
// daemon, rebuilds, the query server, the demo and the tests. A standalone
// server gets a single-node client; a Redis Cluster node (or a URL listing
// several seeds) a cluster client, which follows the slots to their
// masters.
package redisconn

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrClusterDB: the URL selects a database other than 0 on a Redis
// Cluster, which has only database 0.
var ErrClusterDB = errors.New("a Redis Cluster has only database 0")

// Tuning adjusts the clients Open builds; the zero value keeps go-redis'
// defaults.
type Tuning struct {
	PoolSize int // connections per server
	// ContextTimeout bounds every command by its context's deadline
	// (go-redis' ContextTimeoutEnabled).
	ContextTimeout bool
	DialerRetries  int // dial attempts per command attempt
}

// detectTimeout bounds the question Open asks the server when the caller's
// context has no deadline of its own.
const detectTimeout = 5 * time.Second

// Open builds the client of rawURL, a redis:// or rediss:// URL as
// go-redis' ParseURL takes it. URL parameters addr=host:port (go-redis'
// ParseClusterURL) name more seeds of a cluster, and make the client a
// cluster one without asking. Otherwise the server is asked (INFO cluster)
// whether it is a Redis Cluster node: a cluster client seeded with its
// address follows the slots to every master, with the URL's credentials
// and TLS. A cluster has only database 0: another one in the URL is an
// error.
//
// When the server does not answer, known is false and the client is a
// single-node one: a caller that may start without Redis keeps it and asks
// again with IsCluster once the server answers.
func Open(ctx context.Context, rawURL string, tune Tuning) (c redis.UniversalClient, known bool, err error) {
	u, opts, seeds, err := parse(rawURL)
	if err != nil {
		return nil, false, err
	}
	if len(seeds) > 0 {
		return openCluster(u, opts, tune)
	}
	tune.simple(opts)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, detectTimeout)
		defer cancel()
	}
	// Asked on database 0: a cluster node refuses to SELECT another, which
	// would hide what it is.
	asked := *opts
	asked.DB, asked.PoolSize = 0, 1
	probe := redis.NewClient(&asked)
	cluster, err := IsCluster(ctx, probe)
	_ = probe.Close()
	switch {
	case redis.IsPermissionError(err):
		return redis.NewClient(opts), true, nil // as a cluster node would have said
	case err != nil:
		return redis.NewClient(opts), false, nil // the server's first answers will say why
	case !cluster:
		return redis.NewClient(opts), true, nil
	}
	return openCluster(u, opts, tune)
}

// Check reports what Open would refuse in rawURL without the server's
// answer: a URL go-redis cannot parse, or extra seeds (a cluster) with a
// database other than 0.
func Check(rawURL string) error {
	u, opts, seeds, err := parse(rawURL)
	if err == nil && len(seeds) > 0 {
		_, err = clusterOptions(u, opts)
	}
	return err
}

// parse reads rawURL as a single-node client's URL, with its extra
// cluster seeds (addr parameters) set apart.
func parse(rawURL string) (u *url.URL, opts *redis.Options, seeds []string, err error) {
	if u, err = url.Parse(rawURL); err != nil {
		return nil, nil, nil, err
	}
	q := u.Query()
	seeds = q["addr"]
	q.Del("addr")
	single := *u
	single.RawQuery = q.Encode()
	if opts, err = redis.ParseURL(single.String()); err != nil {
		return nil, nil, nil, err
	}
	return u, opts, seeds, nil
}

// IsCluster asks the server of a single-node client whether it is a Redis
// Cluster node: INFO cluster, or, when projector's user may not run INFO
// (managed services' ACLs), CLUSTER INFO, which only a cluster node
// answers. An error means the server did not say (unreachable, loading, or
// denied both: a cluster node answers CLUSTER INFO to any user that may
// write through a cluster client).
func IsCluster(ctx context.Context, c *redis.Client) (bool, error) {
	info, err := c.Info(ctx, "cluster").Result()
	if err == nil {
		return infoField(info, "cluster_enabled") == "1", nil
	}
	if !redis.IsPermissionError(err) {
		return false, err
	}
	switch err := c.ClusterInfo(ctx).Err(); {
	case err == nil:
		return true, nil
	case strings.Contains(err.Error(), "cluster support disabled"):
		return false, nil
	default:
		return false, err
	}
}

// openCluster builds the cluster client of u, whose single-node options
// opts carry the database, credentials and TLS settings.
func openCluster(u *url.URL, opts *redis.Options, tune Tuning) (c redis.UniversalClient, known bool, err error) {
	co, err := clusterOptions(u, opts)
	if err != nil {
		return nil, false, err
	}
	tune.cluster(co)
	return redis.NewClusterClient(co), true, nil
}

func clusterOptions(u *url.URL, opts *redis.Options) (*redis.ClusterOptions, error) {
	if opts.DB != 0 {
		return nil, fmt.Errorf("%w, and the URL selects database %d: leave the database out of it (or make it /0)", ErrClusterDB, opts.DB)
	}
	cu := *u
	cu.Path, cu.RawPath = "", ""
	q := cu.Query()
	q.Del("db") // 0, as checked
	cu.RawQuery = q.Encode()
	co, err := redis.ParseClusterURL(cu.String())
	if err != nil {
		return nil, fmt.Errorf("as a Redis Cluster URL: %w", err)
	}
	co.TLSConfig = opts.TLSConfig // with ParseURL's minimum version
	return co, nil
}

func (t Tuning) simple(o *redis.Options) {
	if t.PoolSize > 0 {
		o.PoolSize = t.PoolSize
	}
	if t.DialerRetries > 0 {
		o.DialerRetries = t.DialerRetries
	}
	o.ContextTimeoutEnabled = o.ContextTimeoutEnabled || t.ContextTimeout
}

func (t Tuning) cluster(o *redis.ClusterOptions) {
	if t.PoolSize > 0 {
		o.PoolSize = t.PoolSize
	}
	if t.DialerRetries > 0 {
		o.DialerRetries = t.DialerRetries
	}
	o.ContextTimeoutEnabled = o.ContextTimeoutEnabled || t.ContextTimeout
}

// infoField is the value of one "name:value" line of INFO's answer.
func infoField(info, name string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}
