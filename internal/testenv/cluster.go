package testenv

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterSlots is the number of hash slots of a Redis Cluster.
const clusterSlots = 16384

// PrivateRedisCluster starts a Redis Cluster of the test's own: masters
// private Redis servers (see PrivateRedis), each serving an equal share of
// the slots, in order, and waits until every one says the cluster is ok.
// Tests that change a master's settings, or stop one, use it; the shared
// cluster (RedisCluster) is never touched. A master that is stopped is
// marked failing by the others after a second (cluster-node-timeout), and
// the cluster answers CLUSTERDOWN until it is back.
func PrivateRedisCluster(t testing.TB, masters int) []*PrivateServer {
	t.Helper()
	servers := make([]*PrivateServer, masters)
	buses := make([]int, masters)
	for i := range servers {
		// The default bus port (port + 10000) may be past 65535.
		buses[i] = freePort(t)
		servers[i] = PrivateRedis(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-port", strconv.Itoa(buses[i]), "--cluster-node-timeout", "1000")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	clients := make([]*redis.Client, masters)
	for i, s := range servers {
		clients[i] = redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", s.Port())})
		defer clients[i].Close()
		lo, hi := i*clusterSlots/masters, (i+1)*clusterSlots/masters-1
		if err := clients[i].ClusterAddSlotsRange(ctx, lo, hi).Err(); err != nil {
			t.Fatalf("private redis cluster: add slots %d-%d: %v", lo, hi, err)
		}
	}
	for i := 1; i < masters; i++ {
		err := clients[0].Do(ctx, "CLUSTER", "MEET", "127.0.0.1", servers[i].Port(), buses[i]).Err()
		if err != nil {
			t.Fatalf("private redis cluster: meet: %v", err)
		}
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !clusterOK(ctx, clients) {
		select {
		case <-ctx.Done():
			t.Fatalf("private redis cluster: not ok after a minute")
		case <-tick.C:
		}
	}
	return servers
}

// clusterOK reports whether every node says the cluster is ok and knows
// every other.
func clusterOK(ctx context.Context, nodes []*redis.Client) bool {
	for _, c := range nodes {
		info, err := c.ClusterInfo(ctx).Result()
		if err != nil {
			return false
		}
		fields := map[string]string{}
		for _, line := range strings.Split(info, "\n") {
			if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
				fields[k] = v
			}
		}
		if fields["cluster_state"] != "ok" || fields["cluster_known_nodes"] != strconv.Itoa(len(nodes)) {
			return false
		}
	}
	return true
}

// ClusterURL is the URL of a cluster of private servers: its first
// master's.
func ClusterURL(servers []*PrivateServer) string {
	return strings.TrimSuffix(servers[0].URL(), "/0")
}
