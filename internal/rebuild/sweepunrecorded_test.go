package rebuild

import (
	"context"
	"fmt"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
)

// restoreUnrecorded writes the keys of items from..from+n-1, rev keys
// included, as a Redis restored from a snapshot taken before they were
// deleted holds them once their revisions were collected: no revision of
// the view knows them.
func restoreUnrecorded(t *testing.T, rdb goredis.Cmdable, prefix string, from, n int64) []string {
	t.Helper()
	ctx := context.Background()
	var keys []string
	for id := from; id < from+n; id++ {
		k := fmt.Sprintf("%sitem:%d", prefix, id)
		keys = append(keys, k)
		doc := fmt.Sprintf(`{"id":%d,"name":"item-%d","qty":%d}`, id, id, id)
		if err := rdb.Set(ctx, k, doc, 0).Err(); err != nil {
			t.Fatal(err)
		}
		if err := rdb.Set(ctx, "projector:rev:{"+k+"}", "3", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// TestSweepDeletesKeysWithoutRevision: a rebuild of the Redis store
// deletes the view's keys whose documents no revision knows (deleted
// longer ago than the tombstone retention, then brought back by a
// restore), found by SCAN a page at a time, and leaves alone the keys its
// template cannot give (item:abc over a bigint id).
func TestSweepDeletesKeysWithoutRevision(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	source := f.seed(d, 1, 20)
	d.stop()
	ctx := context.Background()
	restored := restoreUnrecorded(t, f.rdb, f.prefix, 100, 25)
	notOurs := f.prefix + "item:abc"
	if err := f.rdb.Set(ctx, notOurs, "someone else's", 0).Err(); err != nil {
		t.Fatal(err)
	}

	res, err := Run(ctx, f.openEnv(), Options{View: "item_view", Keep: 0, Stores: []string{"redis"}, Chunk: 1}) // pages of 10 keys
	if err != nil {
		t.Fatalf("rebuild --sinks redis: %v", err)
	}
	if res.Swept != int64(len(restored)) {
		t.Errorf("swept %d keys, want the %d without a revision", res.Swept, len(restored))
	}
	if n, err := f.rdb.Exists(ctx, restored...).Result(); err != nil || n != 0 {
		t.Errorf("%d of the keys without a revision are left (%v)", n, err)
	}
	if v, err := f.rdb.Get(ctx, notOurs).Result(); err != nil || v != "someone else's" {
		t.Errorf("%s, which item:{id} over a bigint cannot give, = %q (%v); want it left alone", notOurs, v, err)
	}
	f.rdb.Del(ctx, notOurs) // not a document for wantDocs
	f.wantDocs(source)
}

// TestSweepDeletesKeysWithoutRevisionOnCluster: on a Redis Cluster the
// keys without a revision are on every master, and each master is
// scanned.
func TestSweepDeletesKeysWithoutRevisionOnCluster(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	rdb, prefix := testenv.RedisCluster(t)
	env := map[string]string{"PG": pgURL, "REDIS": testenv.RedisClusterURL(t), "PREFIX": prefix}
	cfg, err := config.Parse("test.yaml", []byte(itemsYAML), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, pool: pool, prefix: prefix, cfg: cfg, plan: plan}
	d := f.startDaemon()
	f.seed(d, 1, 10)
	d.stop()
	ctx := context.Background()
	restored := restoreUnrecorded(t, rdb, prefix, 100, 30)

	if _, err := Run(ctx, f.openEnv(), Options{View: "item_view", Keep: 0, Stores: []string{"redis"}}); err != nil {
		t.Fatalf("rebuild --sinks redis: %v", err)
	}
	for _, k := range restored {
		if n, err := rdb.Exists(ctx, k).Result(); err != nil || n != 0 {
			t.Errorf("%s, without a revision, is left after the rebuild (%v)", k, err)
		}
	}
	for id := 1; id <= 10; id++ {
		if n, err := rdb.Exists(ctx, fmt.Sprintf("%sitem:%d", prefix, id)).Result(); err != nil || n != 1 {
			t.Errorf("item %d, live, is gone (%v)", id, err)
		}
	}
}
