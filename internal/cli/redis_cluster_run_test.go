package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestRunOnRedisCluster: `projector run` with stores.redis.url on a Redis
// Cluster node projects a view into the cluster: every doc's key is on the
// master serving its slot, with its value, and /readyz is green.
func TestRunOnRedisCluster(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	rdb, prefix := testenv.RedisCluster(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "cqrs.public.widgets"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 30
	var records []*kgo.Record
	for i := range n {
		id := fmt.Sprint("w", i)
		value, err := json.Marshal(map[string]any{
			"before": nil, "after": map[string]any{"id": id, "name": "widget " + id}, "op": "c", "ts_ms": 1790710563391,
			"source": map[string]any{"connector": "postgresql", "name": "cqrs", "db": "cqrs_write", "schema": "public",
				"table": "widgets", "snapshot": "false", "txId": 1000 + i, "lsn": 5000 + i, "ts_ms": 1790710562903},
		})
		if err != nil {
			t.Fatal(err)
		}
		records = append(records, &kgo.Record{Topic: "cqrs.public.widgets", Key: []byte(`{"id":"` + id + `"}`), Value: value})
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), records...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PROJECTOR_POSTGRES_URL", pgURL)
	t.Setenv("CLUSTER_REDIS_URL", testenv.RedisClusterURL(t))
	file := widgetsConfig(t, fmt.Sprintf(`kafka: { brokers: %q, group: redis-cluster-run }
stores:
  postgres: { url: "${PROJECTOR_POSTGRES_URL}" }
  redis: { url: "${CLUSTER_REDIS_URL}" }
admin: { listen: "127.0.0.1:0" }`, strings.Join(c.ListenAddrs(), ",")), `{ redis: { key: "`+prefix+`widget:{id}" } }`)
	d := startDaemon(t, file)
	d.readyz(t, http.StatusOK, `"ready"`)

	ctx := context.Background()
	slots, err := rdb.ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	masterOf := func(key string) string {
		t.Helper()
		slot, err := rdb.ClusterKeySlot(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range slots {
			if int64(s.Start) <= slot && slot <= int64(s.End) {
				return s.Nodes[0].Addr
			}
		}
		t.Fatalf("no master serves slot %d of %s", slot, key)
		return ""
	}
	masters := map[string]bool{}
	deadline := time.Now().Add(30 * time.Second)
	for i := range n {
		key := fmt.Sprintf("%swidget:w%d", prefix, i)
		master := masterOf(key)
		masters[master] = true
		node := goredis.NewClient(&goredis.Options{Addr: master})
		got, err := node.Get(ctx, key).Result()
		for ; err == goredis.Nil && time.Now().Before(deadline); got, err = node.Get(ctx, key).Result() {
			d.readyz(t, http.StatusOK, `"ready"`) // a pause that also watches the daemon
		}
		_ = node.Close()
		var doc map[string]any
		if err != nil || json.Unmarshal([]byte(got), &doc) != nil || doc["name"] != fmt.Sprint("widget w", i) {
			t.Fatalf("GET %s on its master %s = %q, %v", key, master, got, err)
		}
	}
	if len(masters) != 3 {
		t.Errorf("keys on %d masters, want 3", len(masters))
	}
}
