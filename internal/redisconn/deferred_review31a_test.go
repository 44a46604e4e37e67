package redisconn_test

import (
	"context"
	"errors"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/internal/redisconn"
	"github.com/projectorhq/projector/internal/testenv"
)

// TestReview31aDeferredClusterDatabase: a URL selecting a database other
// than 0 is one only a cluster refuses, and Open, asked while the server
// answers, refuses it with ErrClusterDB (stack.judgeRedis makes that a
// refusal naming the fix: leave the database out). Resolve, asked once the
// server answers after the start, must say the same; it asks through the
// client made at start, whose connections SELECT the URL's database, which
// a cluster node refuses ("SELECT is not allowed in cluster mode"): the
// question never gets its answer, the server is taken for one that does
// not answer yet, and the client stays the single-node one for good.
func TestReview31aDeferredClusterDatabase(t *testing.T) {
	ctx := context.Background()
	u := testenv.RedisClusterURL(t) + "/1"
	if _, _, err := redisconn.Open(ctx, u, redisconn.Tuning{}); !errors.Is(err, redisconn.ErrClusterDB) {
		t.Fatalf("Open(%s) = %v; want ErrClusterDB (the premise)", u, err)
	}
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	single := redis.NewClient(opts) // as Open makes it when the server does not answer
	d := redisconn.NewDeferred(u, redisconn.Tuning{}, single, false)
	defer d.Close()
	_, err = d.Resolve(ctx)
	if !errors.Is(err, redisconn.ErrClusterDB) {
		t.Errorf("Resolve on a cluster node with database 1 in the URL: %v; want ErrClusterDB, as Open says it", err)
	}
}
