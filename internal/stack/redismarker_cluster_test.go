package stack

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/internal/redisconn"
	"github.com/projectorhq/projector/internal/testenv"
)

// TestRedisClusterMasterLossNoticed: one master of a Redis Cluster that
// comes back without its data takes only its own slots' documents, and
// the marker's first key may well be on another master. Each master holds
// a copy of the marker, so the loss of any one is reported, until a
// rebuild sets the marker again. A marker from before the copies (its
// first key only) gets them, and is not taken for a loss.
func TestRedisClusterMasterLossNoticed(t *testing.T) {
	servers := testenv.PrivateRedisCluster(t, 3)
	_, pgURL := testenv.Postgres(t)
	cfg, plan := compilePlan(t, redisViewYAML, pgURL, testenv.ClusterURL(servers))
	ctx := context.Background()
	st, err := Wire(ctx, cfg, plan, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	ping := func() error {
		t.Helper()
		i := slices.IndexFunc(st.probes, func(p probe) bool { return slices.Contains(p.components, "redis") })
		return st.probes[i].ping(ctx)
	}
	if err := ping(); err != nil {
		t.Fatalf("a cluster holding the view: %v", err)
	}

	masters := make([]*goredis.Client, len(servers))
	for i, s := range servers {
		opts, err := goredis.ParseURL(s.URL())
		if err != nil {
			t.Fatal(err)
		}
		masters[i] = goredis.NewClient(opts)
		t.Cleanup(func() { _ = masters[i].Close() })
		if n, err := masters[i].Keys(ctx, "projector:marker:*").Result(); err != nil || len(n) == 0 {
			t.Fatalf("master %d holds no copy of the marker: %v %v", i, n, err)
		}
	}
	database, schema := st.Pool.Config().ConnConfig.Database, cfg.Stores.Postgres.Schema
	first := redisconn.Slot(MarkerKey(database, schema, "item_view")) * len(servers) / redisconn.Slots
	lost := (first + 1) % len(servers) // slots are shared out in order (PrivateRedisCluster)
	if err := masters[lost].FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := ping(); err == nil || !strings.Contains(err.Error(), "lost the documents of item_view") {
		t.Errorf("after master %d (not the first key's) lost its data: the probe says %v, want the view's loss named", lost, err)
	}
	// What a rebuild of the view's Redis store does once it refilled it.
	if err := SetMarker(ctx, st.Redis, database, schema, "item_view"); err != nil {
		t.Fatal(err)
	}
	if err := ping(); err != nil {
		t.Errorf("after the marker was set again: %v", err)
	}

	// A marker an earlier version set: its first key only.
	for _, m := range masters {
		keys, err := m.Keys(ctx, "projector:marker:*").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if k != MarkerKey(database, schema, "item_view") {
				m.Del(ctx, k)
			}
		}
	}
	if err := ping(); err != nil {
		t.Errorf("a marker from before its copies: %v, want it upgraded", err)
	}
	for i, m := range masters {
		if n, err := m.Keys(ctx, "projector:marker:*").Result(); err != nil || len(n) == 0 {
			t.Errorf("master %d got no copy of the upgraded marker: %v %v", i, n, err)
		}
	}
}
