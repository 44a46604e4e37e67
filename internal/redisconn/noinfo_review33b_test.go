package redisconn_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/internal/redisconn"
	"github.com/projectorhq/projector/internal/testenv"
)

// TestR33bOpenServerWithoutInfo: a standalone Redis on which INFO is not
// available (rename-command INFO "", as hardened setups and some proxies
// do) answers every other command, and answers CLUSTER INFO with "ERR This
// instance has cluster support disabled": it has said it is no cluster
// node. IsCluster falls back to CLUSTER INFO only when INFO is denied by
// an ACL (NOPERM); an "unknown command" error is taken as "did not
// answer", so Open returns known=false and redisconn.Deferred asks again
// on every use, for ever. The daemon then runs its Redis sink through
// stack.pendingRedis, which holds every write ("redis does not answer")
// while Redis answers everything else: README (Redis Cluster) promises
// that writes are held only "while Redis does not answer".
//
// Expected: a server that answers CLUSTER INFO "cluster support disabled"
// is known to be a standalone one, whatever INFO answers.
func TestR33bOpenServerWithoutInfo(t *testing.T) {
	srv := testenv.PrivateRedis(t, "--rename-command", "INFO", "")
	ctx := context.Background()
	c, known, err := redisconn.Open(ctx, srv.URL(), redisconn.Tuning{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("the server does not answer PING: %v", err)
	}
	if _, single := c.(*redis.Client); !single || !known {
		t.Errorf("Open(standalone Redis without INFO) = %T, known %v; want a single-node client, known: "+
			"it answers CLUSTER INFO with \"cluster support disabled\"", c, known)
	}
	d := redisconn.NewDeferred(srv.URL(), redisconn.Tuning{}, c, known)
	if _, err := d.Resolve(ctx); err != nil {
		t.Errorf("Deferred.Resolve on a server that answers: %v; want nil (its writes are held until it is nil)", err)
	}
}
