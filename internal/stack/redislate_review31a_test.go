package stack

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/internal/redisconn"
	"github.com/projectorhq/projector/internal/testenv"
)

// TestReview31aLateClusterDatabaseRefused: a daemon started while its
// Redis did not answer meets, once it answers, a Redis Cluster node with
// database 1 in the URL. Started while it answered, it would have refused
// to start (stores.redis.url: ... leave the database out of it); answering
// later, README says the start's checks run then and a failing one is
// logged and named by /readyz. The verdict must be that refusal, logged;
// today it is taken for an outage ("SELECT is not allowed in cluster
// mode", nothing logged), as Deferred asks over the database-1 client.
func TestReview31aLateClusterDatabaseRefused(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	u := testenv.RedisClusterURL(t) + "/1"
	_, plan := s17Plan(t, pgURL, u, testenv.Name("r31a")+":")
	opts, err := goredis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testenv.Logs{}
	client := redisconn.NewDeferred(u, redisconn.Tuning{}, goredis.NewClient(opts), false)
	defer client.Close()
	p := &pendingRedis{client: client, views: RedisViews(plan), name: "redis", log: slog.New(slog.NewTextHandler(logs, nil))}
	_, err = p.ensure(context.Background())
	if err == nil || !strings.Contains(err.Error(), "leave the database out") {
		t.Errorf("ensure: %v; want the refusal naming the database of the URL", err)
	}
	if !strings.Contains(logs.String(), "refuses projector's writes") {
		t.Errorf("nothing logged of the refusal:\n%s", logs)
	}
}
