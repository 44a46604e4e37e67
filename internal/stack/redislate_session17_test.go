package stack

// Session 17: a daemon started while its Redis does not answer, and without
// addr= seeds, cannot tell a Redis Cluster node from a standalone server.
// It must heal by itself once Redis answers — a cluster and the daemon
// restarting together is ordinary — with no restart: documents of keys on
// every master written, readiness green, and a standalone server reached
// the same way working as before. The shared servers stay up: a proxy the
// test controls stands for "Redis does not answer" (it drops every
// connection) until it opens.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
)

// s17Proxy is a TCP proxy in front of a server: until open, it drops every
// connection it accepts (a reset, as from a server going away); then it
// forwards each to the server.
type s17Proxy struct {
	ln     net.Listener
	target string
	opened chan struct{}
	once   sync.Once
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]bool
}

func s17NewProxy(t *testing.T, target string) *s17Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &s17Proxy{ln: ln, target: target, opened: make(chan struct{}), conns: map[net.Conn]bool{}}
	p.wg.Go(p.serve)
	t.Cleanup(p.close)
	return p
}

// addr is the proxy's host:port, which the daemon's URL names.
func (p *s17Proxy) addr() string { return p.ln.Addr().String() }

// open makes the proxy forward from now on.
func (p *s17Proxy) open() { p.once.Do(func() { close(p.opened) }) }

func (p *s17Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		select {
		case <-p.opened:
		default:
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = c.Close()
			continue
		}
		if !p.track(c) {
			return
		}
		p.wg.Go(func() { p.forward(c) })
	}
}

func (p *s17Proxy) forward(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil || !p.track(up) {
		p.drop(c)
		if up != nil {
			_ = up.Close()
		}
		return
	}
	var once sync.Once
	end := func() { once.Do(func() { p.drop(c); p.drop(up) }) }
	p.wg.Go(func() {
		_, _ = io.Copy(up, c)
		end()
	})
	_, _ = io.Copy(c, up)
	end()
}

// track records c, to be closed with the proxy; false (and c closed) once
// the proxy is closed.
func (p *s17Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = c.Close()
		return false
	}
	p.conns[c] = true
	return true
}

func (p *s17Proxy) drop(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	_ = c.Close()
}

func (p *s17Proxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// s17Plan is a view of items kept in Redis under prefix, on redisURL.
func s17Plan(t *testing.T, pgURL, redisURL, prefix string) (*config.Config, *projections.Plan) {
	t.Helper()
	vars := map[string]string{"PG": pgURL, "REDIS": redisURL, "PREFIX": prefix}
	cfg, err := config.Parse("wire.yaml", []byte(`
version: 1
kafka: { brokers: "127.0.0.1:9" }
stores:
  postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }
sources:
  items: { topic: t.public.items, key: id, columns: { id: bigint, name: text } }
views:
  item_view:
    from: items
    fields: { id: id, name: name }
    sinks:
      redis: { key: "${PREFIX}item:{id}" }
`), func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, plan
}

// s17Creates are creates of items 1..n, named "item <id>".
func s17Creates(n int) []debezium.Change {
	out := make([]debezium.Change, n)
	for i := range out {
		id := json.Number(strconv.Itoa(i + 1))
		out[i] = debezium.Change{Kind: debezium.KindChange, Op: debezium.OpCreate, Position: debezium.Position{Hi: int64(10 * (i + 1))},
			Key: map[string]any{"id": id}, After: map[string]any{"id": id, "name": fmt.Sprintf("item %d", i+1)}}
	}
	return out
}

// s17Until waits, up to a minute, for ok.
func s17Until(t *testing.T, what string, ok func() bool, logs *testenv.Logs) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within a minute\n%s", what, logs)
		}
		<-tick.C
	}
}

// s17Behind returns rawURL with its host:port replaced by addr.
func s17Behind(t *testing.T, rawURL, addr string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = addr
	return u.String()
}

// s17Daemon is a daemon's stack wired while Redis (behind the proxy)
// does not answer, with its stores watched as `projector run` watches
// them, and its writes of n items started: they are retried until Redis
// answers.
type s17Daemon struct {
	st      *Stack
	logs    *testenv.Logs
	written chan error
}

func s17Start(t *testing.T, cfg *config.Config, plan *projections.Plan, n int) *s17Daemon {
	t.Helper()
	d := &s17Daemon{logs: &testenv.Logs{}, written: make(chan error, 1)}
	st, err := Wire(context.Background(), cfg, plan, slog.New(slog.NewTextHandler(d.logs, nil)))
	if err != nil {
		t.Fatalf("start while Redis does not answer: %v", err)
	}
	t.Cleanup(st.Close)
	d.st = st
	if _, single := st.Redis.(*goredis.Client); !single {
		t.Fatalf("start while Redis does not answer: a %T, want the single-node client of a Redis that did not say what it is", st.Redis)
	}
	if p := st.Engine.Problems()["redis"]; !strings.Contains(p, "does not answer at start") {
		t.Fatalf("start while Redis does not answer: problems %v, want redis", st.Engine.Problems())
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { st.WatchStores(ctx, 20*time.Millisecond) })
	wg.Go(func() {
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		d.written <- st.Engine.ProcessChanges(wctx, "items", s17Creates(n))
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	// The writes meet the outage, and are retried, not skipped.
	s17Until(t, "a write retried while Redis does not answer", func() bool {
		return strings.Contains(d.logs.String(), "sink write failed; retrying")
	}, d.logs)
	return d
}

// waitWritten waits for the writes to be done.
func (d *s17Daemon) waitWritten(t *testing.T) {
	t.Helper()
	select {
	case err := <-d.written:
		if err != nil {
			t.Fatalf("writes once Redis answers: %v\n%s", err, d.logs)
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("writes not done within two minutes of Redis answering\n%s", d.logs)
	}
}

// waitReady waits for the stack's readiness (what /readyz reports) to
// have no problem.
func (d *s17Daemon) waitReady(t *testing.T) {
	t.Helper()
	s17Until(t, "ready without a restart", func() bool { return len(d.st.Engine.Problems()) == 0 }, d.logs)
}

// TestS17ClusterNodeAnswersAfterStart: the daemon starts while the Redis
// Cluster node of its URL does not answer (no addr= seeds). Once it
// answers, the daemon reaches the whole cluster by itself: the documents
// held back are written on every master, each view's marker has its copy
// on every master, and readiness turns green with no restart.
func TestS17ClusterNodeAnswersAfterStart(t *testing.T) {
	cluster, prefix := testenv.RedisCluster(t)
	clusterURL := testenv.RedisClusterURL(t)
	node, err := url.Parse(clusterURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := s17NewProxy(t, node.Host)
	_, pgURL := testenv.Postgres(t)
	cfg, plan := s17Plan(t, pgURL, s17Behind(t, clusterURL, proxy.addr()), prefix)
	ctx := context.Background()

	const n = 12
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%sitem:%d", prefix, i+1)
	}
	masters := map[string]bool{}
	var mu sync.Mutex // ForEachMaster calls at once
	if err := cluster.ForEachMaster(ctx, func(_ context.Context, m *goredis.Client) error {
		mu.Lock()
		defer mu.Unlock()
		masters[m.Options().Addr] = false
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	d := s17Start(t, cfg, plan, n)
	database, schema := d.st.Pool.Config().ConnConfig.Database, cfg.Stores.Postgres.Schema
	t.Cleanup(func() {
		for _, k := range markerKeys(cluster, database, schema, "item_view") {
			cluster.Del(context.Background(), k)
		}
	})
	if got, err := cluster.Exists(ctx, keys[0]).Result(); err != nil || got != 0 {
		t.Fatalf("a document written while Redis did not answer: %d %v", got, err)
	}

	proxy.open()
	d.waitWritten(t)
	for i, k := range keys {
		v, err := cluster.Get(ctx, k).Result()
		if err != nil || !strings.Contains(v, fmt.Sprintf(`"item %d"`, i+1)) {
			t.Errorf("%s: %q %v, want item %d", k, v, err, i+1)
			continue
		}
		m, err := cluster.MasterForKey(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		masters[m.Options().Addr] = true
	}
	for m, holds := range masters {
		if !holds {
			t.Errorf("master %s holds none of the documents: they did not spread over the cluster", m)
		}
	}

	d.waitReady(t)
	if err := cluster.ForEachMaster(ctx, func(ctx context.Context, m *goredis.Client) error {
		found, err := m.Keys(ctx, "projector:marker:*"+database+"."+schema+"*").Result()
		if err == nil && len(found) == 0 {
			err = fmt.Errorf("master %s has no copy of item_view's marker", m.Options().Addr)
		}
		return err
	}); err != nil {
		t.Error(err)
	}
	if strings.Contains(d.logs.String(), "restart") {
		t.Errorf("the logs ask for a restart:\n%s", d.logs)
	}
}

// TestS17StandaloneAnswersAfterStart: a standalone Redis reached the same
// way (not answering at start, no addr=) is written to once it answers,
// through the client made at start, and readiness turns green.
func TestS17StandaloneAnswersAfterStart(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	redisURL := testenv.RedisURL(t)
	server, err := url.Parse(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := s17NewProxy(t, server.Host)
	_, pgURL := testenv.Postgres(t)
	cfg, plan := s17Plan(t, pgURL, s17Behind(t, redisURL, proxy.addr()), prefix)
	ctx := context.Background()

	const n = 4
	d := s17Start(t, cfg, plan, n)
	database, schema := d.st.Pool.Config().ConnConfig.Database, cfg.Stores.Postgres.Schema
	t.Cleanup(func() { rdb.Del(context.Background(), MarkerKey(database, schema, "item_view")) })

	proxy.open()
	d.waitWritten(t)
	for i := range n {
		k := fmt.Sprintf("%sitem:%d", prefix, i+1)
		if v, err := rdb.Get(ctx, k).Result(); err != nil || !strings.Contains(v, fmt.Sprintf(`"item %d"`, i+1)) {
			t.Errorf("%s: %q %v, want item %d", k, v, err, i+1)
		}
	}
	d.waitReady(t)
	if got, err := rdb.Exists(ctx, MarkerKey(database, schema, "item_view")).Result(); err != nil || got != 1 {
		t.Errorf("item_view's marker once Redis answers: %d %v, want set", got, err)
	}
}

// TestS17RefusalFoundOnceRedisAnswers: the start's checks run when Redis
// first answers. A setting the start would have refused (an allkeys-*
// eviction policy) is then a readiness failure naming it, logged once,
// and the writes are held and retried, not skipped; once the setting is
// fixed, they land and readiness turns green, still without a restart.
func TestS17RefusalFoundOnceRedisAnswers(t *testing.T) {
	srv := testenv.PrivateRedis(t)
	opts, err := goredis.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	admin := goredis.NewClient(opts)
	t.Cleanup(func() { _ = admin.Close() })
	ctx := context.Background()
	if err := admin.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru").Err(); err != nil {
		t.Fatal(err)
	}
	proxy := s17NewProxy(t, opts.Addr)
	_, pgURL := testenv.Postgres(t)
	cfg, plan := s17Plan(t, pgURL, s17Behind(t, srv.URL(), proxy.addr()), "")

	d := s17Start(t, cfg, plan, 1)
	proxy.open()
	s17Until(t, "the eviction policy reported", func() bool {
		return strings.Contains(d.st.Engine.Problems()["redis"], "allkeys-lru")
	}, d.logs)
	s17Until(t, "a write retried past the refusal", func() bool {
		return strings.Count(d.logs.String(), "sink write failed; retrying") >= 2 &&
			strings.Contains(d.logs.String(), "allkeys-lru (set it to noeviction)")
	}, d.logs)
	if got, err := admin.Exists(ctx, "item:1").Result(); err != nil || got != 0 {
		t.Fatalf("a document written to a Redis that may evict its revision: %d %v", got, err)
	}

	if err := admin.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
	d.waitWritten(t)
	if v, err := admin.Get(ctx, "item:1").Result(); err != nil || !strings.Contains(v, `"item 1"`) {
		t.Errorf("item:1 once the policy is fixed: %q %v", v, err)
	}
	d.waitReady(t)
	if c := strings.Count(d.logs.String(), "refuses projector's writes"); c != 1 {
		t.Errorf("the refusal is logged %d times, want once:\n%s", c, d.logs)
	}
}
