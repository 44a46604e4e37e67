package redisconn_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/internal/redisconn"
	"github.com/projectorhq/projector/internal/testenv"
)

// TestR29kClusterTakesSingleServerOptions: stores.redis.url is set "as for
// a single server" (README, Redis Cluster). Options go-redis takes on a
// single server's URL (skip_verify on rediss://, idle_timeout,
// max_conn_age) must not make a cluster URL a configuration error: they
// pass `projector validate` (Check without seeds) and then `projector run`
// refuses to start (exit 2) once the node says it is a cluster node.
func TestR29kClusterTakesSingleServerOptions(t *testing.T) {
	// The same URL with seeds: nothing need listen.
	for _, u := range []string{
		"rediss://127.0.0.1:1/?skip_verify=true&addr=127.0.0.1:2",
		"redis://127.0.0.1:1/?idle_timeout=5m&addr=127.0.0.1:2",
		"redis://127.0.0.1:1/?max_conn_age=1h&addr=127.0.0.1:2",
	} {
		if err := redisconn.Check(u); err != nil {
			t.Errorf("Check(%s) = %v; want the single-server options accepted on a cluster URL", u, err)
		}
	}
	// A cluster node's URL without seeds, as validate accepted it.
	u := testenv.RedisClusterURL(t) + "/?idle_timeout=5m"
	if err := redisconn.Check(u); err != nil {
		t.Fatalf("Check(%s) = %v", u, err)
	}
	ctx := context.Background()
	c, known, err := redisconn.Open(ctx, u, redisconn.Tuning{})
	if c != nil {
		t.Cleanup(func() { _ = c.Close() })
	}
	if _, ok := c.(*redis.ClusterClient); err != nil || !known || !ok {
		t.Errorf("Open(%s) = %T, %v, %v; want a cluster client", u, c, known, err)
	}
}

// TestR29kClusterTLSSkipVerifyKept: skip_verify on a rediss:// cluster URL
// is honoured by the cluster client as by a single-node one.
func TestR29kClusterTLSSkipVerifyKept(t *testing.T) {
	c, _, err := redisconn.Open(context.Background(), "rediss://127.0.0.1:1/?skip_verify=true&addr=127.0.0.1:2", redisconn.Tuning{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	cc, ok := c.(*redis.ClusterClient)
	if !ok {
		t.Fatalf("Open = %T, want a cluster client", c)
	}
	if tc := cc.Options().TLSConfig; tc == nil || !tc.InsecureSkipVerify {
		t.Errorf("cluster client's TLS config %+v; want InsecureSkipVerify as the URL says", tc)
	}
}
