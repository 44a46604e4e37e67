package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/internal/redisconn"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks/redis"
)

const redisViewYAML = `
version: 1
kafka: { brokers: "127.0.0.1:9" }
stores:
  postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }
sources:
  items: { topic: t.public.items, key: id, columns: { id: bigint } }
views:
  item_view:
    from: items
    fields: { id: id }
    sinks:
      redis: { key: "item:{id}" }
`

// TestWireChecksRedis: a daemon refuses to start on a Redis that may evict
// any key (revisions would be lost without a trace), warns on one that may
// evict tombstones, and starts on one that does not answer yet (an outage
// like any later, retried). The Redis is the test's own: others start
// daemons on the shared one meanwhile.
func TestWireChecksRedis(t *testing.T) {
	srv := testenv.PrivateRedis(t)
	_, pgURL := testenv.Postgres(t)
	cfg, plan := compilePlan(t, redisViewYAML, pgURL, srv.URL())
	opts, err := goredis.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	admin := goredis.NewClient(opts)
	t.Cleanup(func() { _ = admin.Close() })
	wire := func(policy string) (string, error) {
		t.Helper()
		if policy != "" {
			if err := admin.ConfigSet(context.Background(), "maxmemory-policy", policy).Err(); err != nil {
				t.Fatal(err)
			}
		}
		var logs testenv.Logs
		st, err := Wire(context.Background(), cfg, plan, slog.New(slog.NewTextHandler(&logs, nil)))
		if st != nil {
			st.Close()
		}
		return logs.String(), err
	}

	// A setting the operator must change: an invalid configuration (exit
	// 2), as a wrong password is, not a runtime failure.
	if _, err := wire("allkeys-lru"); !errors.Is(err, redis.ErrEvictionPolicy) || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "allkeys-lru") {
		t.Errorf("start on allkeys-lru: %v, want ErrEvictionPolicy and ErrConfig naming the policy", err)
	}
	logs, err := wire("volatile-lru")
	if err != nil || !strings.Contains(logs, "evict tombstones") {
		t.Errorf("start on volatile-lru: err %v, logs %q; want a start with a warning", err, logs)
	}
	logs, err = wire("noeviction")
	if err != nil || strings.Contains(logs, "level=WARN") {
		t.Errorf("start on noeviction: err %v, logs %q; want a quiet start", err, logs)
	}
	srv.Stop()
	logs, err = wire("")
	if err != nil || !strings.Contains(logs, "does not answer") {
		t.Errorf("start with Redis down: err %v, logs %q; want a start with a warning", err, logs)
	}
}

// TestWireRedisCredentials: a Redis that refuses projector's password is
// a configuration error (the daemon refuses to start, saying so); a user
// whose ACL denies INFO gets a warning that the eviction policy is
// unknown, and the RedisJSON check still runs. The Redis, its password
// and its ACL users are the test's own.
func TestWireRedisCredentials(t *testing.T) {
	srv := testenv.PrivateRedis(t)
	_, pgURL := testenv.Postgres(t)
	opts, err := goredis.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	admin := goredis.NewClient(opts)
	t.Cleanup(func() { _ = admin.Close() })
	ctx := context.Background()
	hostURL := strings.TrimPrefix(srv.URL(), "redis://")
	wire := func(yaml, redisURL string) (string, error) {
		t.Helper()
		cfg, plan := compilePlan(t, yaml, pgURL, redisURL)
		var logs testenv.Logs
		st, err := Wire(ctx, cfg, plan, slog.New(slog.NewTextHandler(&logs, nil)))
		if st != nil {
			st.Close()
		}
		return logs.String(), err
	}

	if err := admin.Do(ctx, "ACL", "SETUSER", "reader", "on", ">reader-pw", "~*", "&*", "+@all", "-info").Err(); err != nil {
		t.Fatal(err)
	}
	limited := "redis://reader:reader-pw@" + hostURL
	logs, err := wire(redisViewYAML, limited)
	if err != nil || !strings.Contains(logs, "cannot read redis's eviction policy") {
		t.Errorf("a user denied INFO: err %v, logs %q; want a start with a warning", err, logs)
	}
	info, err := admin.Do(ctx, "COMMAND", "INFO", "JSON.SET").Slice()
	if err != nil {
		t.Fatal(err)
	}
	rejson := strings.Replace(redisViewYAML, `key: "item:{id}"`, `key: "item:{id}", format: rejson`, 1)
	logs, err = wire(rejson, limited)
	if hasJSON := len(info) > 0 && info[0] != nil; hasJSON {
		if err != nil {
			t.Errorf("rejson with RedisJSON, user denied INFO: %v", err)
		}
	} else if !errors.Is(err, redis.ErrNoJSONModule) || !errors.Is(err, ErrConfig) {
		t.Errorf("rejson without RedisJSON, user denied INFO: err %v, logs %q; want ErrNoJSONModule and ErrConfig", err, logs)
	}

	if err := admin.ConfigSet(ctx, "requirepass", "right-pw").Err(); err != nil {
		t.Fatal(err)
	}
	for name, u := range map[string]string{
		"no password":    srv.URL(),
		"wrong password": "redis://:wrong-pw@" + hostURL,
		"wrong user":     "redis://reader:wrong-pw@" + hostURL,
	} {
		logs, err := wire(redisViewYAML, u)
		if !errors.Is(err, ErrRedisAuth) || !strings.Contains(err.Error(), "stores.redis.url") {
			t.Errorf("%s: err %v, want ErrRedisAuth naming stores.redis.url", name, err)
		}
		if strings.Contains(logs+fmt.Sprint(err), "wrong-pw") {
			t.Errorf("%s: the password shows: %v\n%s", name, err, logs)
		}
	}
	if _, err := wire(redisViewYAML, "redis://:right-pw@"+hostURL); err != nil {
		t.Errorf("the right password: %v", err)
	}
}

// TestWireOnRedisCluster: a daemon starts on a Redis Cluster node's URL
// with a cluster client, checked on every master; a database other than
// 0, which a cluster does not have, and indexes a script could not keep
// beside their documents are invalid configurations naming the cause.
func TestWireOnRedisCluster(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	clusterURL := testenv.RedisClusterURL(t)
	wire := func(yaml, redisURL string) (*Stack, error) {
		t.Helper()
		cfg, plan := compilePlan(t, yaml, pgURL, redisURL)
		st, err := Wire(context.Background(), cfg, plan, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if st != nil {
			t.Cleanup(st.Close)
		}
		return st, err
	}
	st, err := wire(redisViewYAML, clusterURL)
	if err != nil {
		t.Fatalf("start on a Redis Cluster node: %v", err)
	}
	if _, ok := st.Redis.(*goredis.ClusterClient); !ok {
		t.Errorf("start on a Redis Cluster node: a %T, want a cluster client", st.Redis)
	}
	if p := st.Engine.Problems()[registry.StoreRedis]; p != "" {
		t.Errorf("redis not ready on a cluster: %s", p)
	}
	if _, err := wire(redisViewYAML, clusterURL+"/1"); !errors.Is(err, redisconn.ErrClusterDB) || !errors.Is(err, ErrConfig) {
		t.Errorf("start on a cluster with database 1: %v, want ErrClusterDB and ErrConfig", err)
	}
	indexed := strings.Replace(redisViewYAML, `fields: { id: id }`, `fields: { id: id, owner: id }`, 1)
	indexed = strings.Replace(indexed, `key: "item:{id}"`, `key: "item:{id}", indexes: [{ key: "owner:{owner}:items", score: id }]`, 1)
	if _, err := wire(indexed, clusterURL); !errors.Is(err, redis.ErrClusterIndexes) || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), `"item_view"`) {
		t.Errorf("start with indexes in other slots: %v, want ErrClusterIndexes and ErrConfig naming the view", err)
	}
}

// TestWireOnRedisClusterDownAtStart: a daemon started while its Redis does
// not answer cannot tell a cluster node from a standalone server; it
// starts with a single-node client, and once Redis answers as a cluster
// node, the Redis probe reaches the cluster through a cluster client and
// says it is ready, with no restart (see also the session 17 tests, which
// write documents on every master).
func TestWireOnRedisClusterDownAtStart(t *testing.T) {
	servers := testenv.PrivateRedisCluster(t, 1)
	_, pgURL := testenv.Postgres(t)
	cfg, plan := compilePlan(t, redisViewYAML, pgURL, testenv.ClusterURL(servers))
	servers[0].Stop()
	st, err := Wire(context.Background(), cfg, plan, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("start with Redis down: %v", err)
	}
	defer st.Close()
	servers[0].Start()
	i := slices.IndexFunc(st.probes, func(p probe) bool { return slices.Contains(p.components, registry.StoreRedis) })
	// A restarted master says CLUSTERDOWN for its first seconds.
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for err := st.probes[i].ping(context.Background()); err != nil; err = st.probes[i].ping(context.Background()) {
		if time.Now().After(deadline) {
			t.Fatalf("probe once the cluster answers: %v, want ready", err)
		}
		<-tick.C
	}
}

// freeTCPPort is a port nothing listens on now.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
