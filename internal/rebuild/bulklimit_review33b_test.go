package rebuild

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
)

// r33bRedisOnlyYAML is itemsYAML without Elasticsearch, on a Redis of the
// test's own (its proto-max-bulk-len is changed, which the shared Redis
// must not see).
const r33bRedisOnlyYAML = `
version: 1
kafka: { brokers: "localhost:1", group: items }
stores:
  postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }
sources:
  items:
    topic: shop.public.items
    key: id
    columns: { id: bigint, name: text, qty: bigint }
views:
  item_view:
    from: items
    fields: { id: id, name: name, qty: qty }
    sinks:
      postgres: { table: item_view }
      redis: { key: "r33b:item:{id}" }
`

// r33bFixture is a fixture whose Redis is a private server.
func r33bFixture(t *testing.T) (*fixture, *goredis.Client) {
	t.Helper()
	srv := testenv.PrivateRedis(t)
	pool, pgURL := testenv.Postgres(t)
	env := map[string]string{"PG": pgURL, "REDIS": srv.URL()}
	cfg, err := config.Parse("test.yaml", []byte(r33bRedisOnlyYAML), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("config:\n%v", err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatalf("plan:\n%v", err)
	}
	opts, err := goredis.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := goredis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	return &fixture{t: t, pool: pool, rdb: rdb, prefix: "r33b:", cfg: cfg, plan: plan}, rdb
}

// TestR33bRebuildIgnoresServerBulkLimit: README "Refused documents": a
// value over the server's proto-max-bulk-len ("512 MB unless configured
// lower; read at start") is refused alone instead of failing its whole
// script call, which Redis answers "Protocol error: invalid bulk length"
// and by closing the connection. The daemon reads the limit at start
// (stack.checkRedis → redis.Sink.Check), but the rebuild's Redis sink
// (Env.live, built in env.go) never runs Check: it keeps the 512 MB
// default, so a rebuild on a Redis whose limit is lower sends the big
// document in one script call with up to 99 others, Redis drops every
// one of them, and Engine.WriteDocs retries that same call forever: the
// fill never ends (here: until the test's deadline), and the small
// documents beside it are never refreshed.
//
// Expected: the rebuild, like the daemon, reads the limit when it starts
// (Check, or at least readMaxBulk, on Env.live), so the big document is
// refused alone (Redis keeps its previous version) and the rebuild ends.
func TestR33bRebuildIgnoresServerBulkLimit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f, rdb := r33bFixture(t)
	d := f.startDaemon()
	big := strings.Repeat("x", 2<<20) // 2 MiB: over a 1 MB limit
	if err := d.apply(ctx, map[int64]*item{1: {Name: "one", Qty: 1}, 2: {Name: big, Qty: 2}, 3: {Name: "three", Qty: 3}}); err != nil {
		t.Fatal(err)
	}
	d.stop()
	if n := rdb.Exists(ctx, "r33b:item:1", "r33b:item:2", "r33b:item:3").Val(); n != 3 {
		t.Fatalf("%d of 3 keys written by the daemon under the default limit, want 3", n)
	}
	before := rdb.Get(ctx, "projector:rev:{r33b:item:1}").Val()

	// The operator lowers the limit (its minimum) before the rebuild starts.
	if err := rdb.ConfigSet(ctx, "proto-max-bulk-len", "1mb").Err(); err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithTimeout(ctx, 25*time.Second)
	defer rcancel()
	_, err := Run(rctx, f.openEnv(), Options{View: "item_view", Stores: []string{"redis"}, Keep: 0, VerifyTimeout: time.Second})
	if errors.Is(err, context.DeadlineExceeded) || rctx.Err() != nil {
		t.Fatalf("rebuild --sinks redis still running after 25s (%v): its Redis sink never read proto-max-bulk-len, "+
			"so the 2 MiB document fails its whole script call on every retry", err)
	}
	if after := rdb.Get(ctx, "projector:rev:{r33b:item:1}").Val(); after == before {
		t.Errorf("item 1 (small) still at revision %s after the rebuild's fill: it failed with the big document", before)
	}
}
