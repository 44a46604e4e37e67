package redis

import (
	"context"
	"errors"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// TestR29tSingleClientOnClusterNodeRefusesDocs: README (Redis Cluster):
// "If projector starts while Redis does not answer and no addr= seeds are
// given, it cannot tell it is a cluster: /readyz says so once Redis
// answers, and a restart fixes it." The daemon then writes through a
// single-node client (stack.OpenRedis, known false), whose sink groups
// docs into script calls regardless of slots. The cluster node answers a
// call whose keys span slots with CROSSSLOT, which today's change made a
// per-doc refusal: every doc of such a batch goes to the dead-letter topic
// instead of waiting (as an outage) for the restart that fixes it.
// Before today CROSSSLOT was a server state, retried.
func TestR29tSingleClientOnClusterNodeRefusesDocs(t *testing.T) {
	cluster, prefix := testenv.RedisCluster(t)
	ctx := context.Background()
	// The client stack.OpenRedis makes while the node does not answer.
	single := redis.NewClient(&redis.Options{Addr: cluster.Options().Addrs[0]})
	defer func() { _ = single.Close() }()
	s, err := New(single, []View{{Name: "v", Key: prefix + "v:{id}"}}, Options{RevKeyPrefix: prefix + "rev:"})
	if err != nil {
		t.Fatal(err)
	}
	var docs []sinks.Doc
	for id := 1; id <= 20; id++ { // keys over all three masters' slots
		docs = append(docs, doc("v", id, 1, map[string]any{"id": id}))
	}
	err = s.Write(ctx, docs)
	var be *sinks.BatchError
	if errors.As(err, &be) {
		t.Fatalf("%d of %d docs refused (dead-lettered) by a cluster node reached through a single-node client: %v; want the batch retried as an outage until the restart",
			len(be.Failed), len(docs), err)
	}
}
