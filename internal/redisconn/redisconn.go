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
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	// ErrClusterDB: the URL selects a database other than 0 on a Redis
	// Cluster, which has only database 0.
	ErrClusterDB = errors.New("a Redis Cluster has only database 0")
	// ErrClusterNetwork: a cluster URL names a unix socket; a cluster
	// client reaches its nodes over TCP.
	ErrClusterNetwork = errors.New("a Redis Cluster URL must be redis:// or rediss://")
	// ErrNotCluster: the URL names cluster seeds (addr=) and its server
	// says it is no cluster node.
	ErrNotCluster = errors.New("addr= names Redis Cluster seeds, but the server says it is no cluster node (cluster support disabled): leave addr= out for a single server")
	// ErrClusterSeed: an addr parameter is not a host:port.
	ErrClusterSeed = errors.New("a Redis Cluster seed must be host:port")
	// ErrNotURL: the URL does not parse. The error quotes nothing of it:
	// it holds the password.
	ErrNotURL = errors.New("not a valid URL: it does not parse")
	// ErrStoppedAnswering: the server said it is a Redis Cluster node,
	// then did not answer while its cluster client was made (see
	// Deferred): asked again next time.
	ErrStoppedAnswering = errors.New("the Redis Cluster node stopped answering while its cluster client was made")
)

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
// go-redis' ParseURL takes it. URL parameters addr=host:port (as go-redis'
// ParseClusterURL reads them) name more seeds of a cluster, and make the
// client a cluster one without asking. Otherwise the server is asked (INFO
// cluster) whether it is a Redis Cluster node: a cluster client seeded
// with its address follows the slots to every master, with every setting
// of the URL (see clusterOptions). A cluster has only database 0: another
// one in the URL is an error.
//
// When the server does not answer, known is false and the client is a
// single-node one: a caller that may start without Redis keeps it and asks
// again with IsCluster once the server answers (see Deferred).
func Open(ctx context.Context, rawURL string, tune Tuning) (c redis.UniversalClient, known bool, err error) {
	opts, seeds, err := parse(rawURL)
	if err != nil {
		return nil, false, err
	}
	tune.simple(opts)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, detectTimeout)
		defer cancel()
	}
	cluster, err := askCluster(ctx, opts)
	switch {
	case len(seeds) > 0 && err == nil && !cluster:
		// Seeds name a cluster; a standalone server would answer every
		// command of a cluster client "cluster support disabled".
		return nil, false, ErrNotCluster
	case len(seeds) > 0:
		return openCluster(opts, seeds, tune) // the seeds say it is one
	case Unavailable(err):
		return redis.NewClient(opts), true, nil // as a cluster node would have said
	case err != nil:
		return redis.NewClient(opts), false, nil // the server's first answers will say why
	case !cluster:
		return redis.NewClient(opts), true, nil
	}
	return openCluster(opts, seeds, tune)
}

// Check reports what Open would refuse in rawURL without the server's
// answer: a URL go-redis cannot parse as a single server's, or extra seeds
// (a cluster) that are not host:port, with a database other than 0 or a
// unix socket. A cluster takes the options a single server takes.
func Check(rawURL string) error {
	opts, seeds, err := parse(rawURL)
	if err == nil && len(seeds) > 0 {
		_, err = clusterOptions(opts, seeds)
	}
	return err
}

// parse reads rawURL as a single-node client's URL, with its extra
// cluster seeds (addr parameters) set apart.
func parse(rawURL string) (opts *redis.Options, seeds []string, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// Nothing of url.Parse's error is kept: it quotes parts of the URL,
		// and a password holding an unescaped /, ? or # ends the host early,
		// so its first part is quoted as a port.
		return nil, nil, ErrNotURL
	}
	if u.Scheme != "unix" && u.User == nil && strings.Contains(u.EscapedPath(), "@") {
		// A password holding a bare / ended the host early: go-redis would
		// quote the rest, the password's tail, as a database number. (A
		// unix socket's path may hold an @.)
		return nil, nil, fmt.Errorf("%w: write a / or @ in the user or password as %%2F or %%40", ErrNotURL)
	}
	q := u.Query()
	seeds = q["addr"]
	q.Del("addr")
	single := *u
	single.RawQuery = q.Encode()
	if opts, err = redis.ParseURL(single.String()); err != nil {
		return nil, nil, err
	}
	return opts, seeds, nil
}

// askCluster asks the server of opts whether it is a Redis Cluster node
// (IsCluster) on a client of its own, on database 0: a cluster node
// refuses to SELECT another, which would hide what it is. opts must be no
// client's yet: go-redis keeps per-client state in them (a copy of a live
// client's would share its push-notification handlers, and the probe
// would warn that it cannot register them again).
func askCluster(ctx context.Context, opts *redis.Options) (bool, error) {
	asked := *opts
	asked.DB, asked.PoolSize = 0, 1
	probe := redis.NewClient(&asked)
	defer probe.Close()
	return IsCluster(ctx, probe)
}

// IsCluster asks the server of a single-node client whether it is a Redis
// Cluster node: INFO cluster, or, when INFO is not available to projector
// (denied by managed services' ACLs, or renamed away by hardened setups and
// some proxies; see Unavailable), CLUSTER INFO, which only a cluster node
// answers. An error means the server did not say (unreachable, loading, or
// refused both: a cluster node answers CLUSTER INFO to any user that may
// write through a cluster client).
func IsCluster(ctx context.Context, c *redis.Client) (bool, error) {
	info, err := c.Info(ctx, "cluster").Result()
	if err == nil {
		return infoField(info, "cluster_enabled") == "1", nil
	}
	if !Unavailable(err) {
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

// Unavailable reports whether err is the server's answer that a command is
// not available to projector: denied by an ACL (NOPERM), or unknown to it
// (rename-command, or a proxy that does not pass it). The server answered:
// it is up, and only what that command would have said is unknown.
func Unavailable(err error) bool {
	return redis.IsPermissionError(err) || redis.HasErrorPrefix(err, "unknown command")
}

// openCluster builds the cluster client of the single-node options opts
// and the extra seeds.
func openCluster(opts *redis.Options, seeds []string, tune Tuning) (c redis.UniversalClient, known bool, err error) {
	co, err := clusterOptions(opts, seeds)
	if err != nil {
		return nil, false, err
	}
	tune.cluster(co)
	return redis.NewClusterClient(co), true, nil
}

// clusterOptions are the options of a cluster client seeded with the
// server of opts and with seeds: every setting the URL gave opts (as
// go-redis' ParseURL reads a single server's URL: credentials, TLS with
// skip_verify, timeouts, pool, protocol, client name) carries over, so a
// cluster takes exactly the URLs a single server takes. go-redis'
// ParseClusterURL is not used: it refuses some of them (skip_verify,
// idle_timeout, max_conn_age).
func clusterOptions(opts *redis.Options, seeds []string) (*redis.ClusterOptions, error) {
	if opts.DB != 0 {
		return nil, fmt.Errorf("%w, and the URL selects database %d: leave the database out of it (or make it /0)", ErrClusterDB, opts.DB)
	}
	if opts.Network != "tcp" {
		return nil, fmt.Errorf("%w, and the URL names a %s socket", ErrClusterNetwork, opts.Network)
	}
	addrs := []string{opts.Addr}
	for _, s := range seeds {
		h, p, err := net.SplitHostPort(s)
		if err != nil || h == "" || p == "" {
			return nil, fmt.Errorf("%w: addr=%s, want host:port", ErrClusterSeed, s)
		}
		addrs = append(addrs, net.JoinHostPort(h, p))
	}
	co := &redis.ClusterOptions{
		Addrs:      addrs,
		ClientName: opts.ClientName,
		Protocol:   opts.Protocol,
		Username:   opts.Username,
		Password:   opts.Password,

		MaxRetries:      opts.MaxRetries,
		MinRetryBackoff: opts.MinRetryBackoff,
		MaxRetryBackoff: opts.MaxRetryBackoff,

		DialTimeout:           opts.DialTimeout,
		DialerRetries:         opts.DialerRetries,
		DialerRetryTimeout:    opts.DialerRetryTimeout,
		ReadTimeout:           opts.ReadTimeout,
		WriteTimeout:          opts.WriteTimeout,
		ContextTimeoutEnabled: opts.ContextTimeoutEnabled,

		PoolFIFO:                opts.PoolFIFO,
		PoolSize:                opts.PoolSize,
		PoolTimeout:             opts.PoolTimeout,
		MaxConcurrentDials:      opts.MaxConcurrentDials,
		MinIdleConns:            opts.MinIdleConns,
		MaxIdleConns:            opts.MaxIdleConns,
		MaxActiveConns:          opts.MaxActiveConns,
		ConnMaxIdleTime:         opts.ConnMaxIdleTime,
		ConnMaxLifetime:         opts.ConnMaxLifetime,
		ConnMaxLifetimeJitter:   opts.ConnMaxLifetimeJitter,
		PipelinePoolSize:        opts.PipelinePoolSize,
		PipelineReadBufferSize:  opts.PipelineReadBufferSize,
		PipelineWriteBufferSize: opts.PipelineWriteBufferSize,
	}
	if opts.TLSConfig != nil {
		co.TLSConfig = opts.TLSConfig.Clone() // with ParseURL's minimum version and skip_verify
	}
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
