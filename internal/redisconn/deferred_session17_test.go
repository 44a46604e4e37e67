package redisconn_test

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/internal/redisconn"
	"github.com/projectorhq/projector/internal/testenv"
)

// TestDeferredResolve: a client made while its server did not answer is
// kept until the server says what it is: a server that still does not
// answer leaves it so, with the reason; a standalone server keeps it for
// good; a Redis Cluster node has it replaced by a cluster client with the
// URL's settings. Close closes the replaced client too.
func TestDeferredResolve(t *testing.T) {
	ctx := context.Background()
	// A port nothing listens on: as a server that does not answer.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "redis://" + ln.Addr().String()
	_ = ln.Close()

	for name, u := range map[string]string{"down": down, "standalone": testenv.RedisURL(t),
		"cluster": testenv.RedisClusterURL(t) + "?client_name=projector-s17"} {
		t.Run(name, func(t *testing.T) {
			opts, err := redis.ParseURL(u)
			if err != nil {
				t.Fatal(err)
			}
			single := redis.NewClient(opts) // as Open makes it when the server does not answer
			d := redisconn.NewDeferred(u, redisconn.Tuning{PoolSize: 2}, single, false)
			c, err := d.Resolve(ctx)
			switch name {
			case "down":
				if c != single || err == nil {
					t.Errorf("Resolve = %T, %v; want the single-node client and why the server did not say", c, err)
				}
			case "standalone":
				if c != single || err != nil {
					t.Errorf("Resolve = %T, %v; want the single-node client for good", c, err)
				}
			case "cluster":
				cc, ok := c.(*redis.ClusterClient)
				if !ok || err != nil {
					t.Fatalf("Resolve = %T, %v; want a cluster client", c, err)
				}
				if o := cc.Options(); o.PoolSize != 2 || o.ClientName != "projector-s17" {
					t.Errorf("cluster options: pool %d, client name %q; want the tuning's and the URL's", o.PoolSize, o.ClientName)
				}
				if err := redisconn.Ping(ctx, cc); err != nil {
					t.Errorf("Ping(cluster client): %v", err)
				}
			}
			if again, err2 := d.Resolve(ctx); again != c || (err2 == nil) != (err == nil) {
				t.Errorf("Resolve again = %T, %v; want %T, %v", again, err2, c, err)
			}
			if err := d.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if err := single.Ping(ctx).Err(); !errors.Is(err, redis.ErrClosed) {
				t.Errorf("the client made at first after Close: %v, want closed", err)
			}
		})
	}
}
