package query_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/internal/query"
	"github.com/projectorhq/projector/internal/redisconn"
	"github.com/projectorhq/projector/internal/testenv"
)

// R29kWaitClusterOK polls every node until each says cluster_state:ok.
func R29kWaitClusterOK(t *testing.T, servers []*testenv.PrivateServer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ok := true
		for _, s := range servers {
			c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", s.Port())})
			info, err := c.ClusterInfo(ctx).Result()
			_ = c.Close()
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				ok = false
			}
		}
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatal("cluster not ok again within a minute")
		case <-tick.C:
		}
	}
}

// TestR29kGetFromClusterAfterStartWithoutRedis: `projector serve` started
// while its Redis Cluster node did not answer (a restart, a failover of
// the configuration endpoint) keeps, for good, the single-node client made
// then: once the cluster answers, every get of a key on another master
// meets MOVED and fails (a view kept only in Redis answers an error),
// while serve's /readyz, whose own client is made once Redis answers
// (stack.OpenStores), says Redis is ready. README: "/readyz says so once
// Redis answers, and a restart fixes it" — here nothing says so.
func TestR29kGetFromClusterAfterStartWithoutRedis(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	servers := testenv.PrivateRedisCluster(t, 3)
	url := testenv.ClusterURL(servers)
	prefix := testenv.Name("t") + ":"
	servers[0].Stop() // the node of the URL
	yaml := `
version: 1
kafka: { brokers: "localhost:1", group: notes }
stores:
  postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }
sources:
  notes: { topic: app.public.notes, key: id, columns: { id: bigint, body: text } }
views:
  notes:
    from: notes
    fields: { id: id, body: body }
    sinks:
      redis: { key: "${PREFIX}note:{id}" }
`
	api := offlineServer(t, yaml, map[string]string{"PG": pgURL, "REDIS": url, "PREFIX": prefix}, query.Options{})
	servers[0].Start()
	R29kWaitClusterOK(t, servers)

	ctx := context.Background()
	rdb, _, err := redisconn.Open(ctx, url, redisconn.Tuning{})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	const n = 12 // keys on all three masters
	for id := 1; id <= n; id++ {
		key := fmt.Sprintf("%snote:%d", prefix, id)
		if err := rdb.Set(ctx, key, fmt.Sprintf(`{"id":%d,"body":"note %d"}`, id, id), 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	h := httptest.NewServer(api.Handler())
	defer h.Close()
	for id := 1; id <= n; id++ {
		st, body := call(t, h.URL, fmt.Sprintf("/v1/views/notes/docs/%d", id))
		if st != http.StatusOK || body["body"] != fmt.Sprintf("note %d", id) {
			t.Errorf("GET /docs/%d = %d %v, want 200 with note %d", id, st, body, id)
		}
	}
}
