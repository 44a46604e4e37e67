package stack

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks/redis"
)

const redisViewYAML = `
version: 1
kafka: { brokers: "127.0.0.1:9" }
stores:
  postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }
sources:
  items: { topic: t.public.items, key: id, columns: { id: bigint } }
views:
  item_view:
    from: items
    fields: { id: id }
    sinks:
      redis: { key: "item:{id}" }
`

// syncBuffer is a log destination the test reads while nothing writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestWireChecksRedis: a daemon refuses to start on a Redis that may evict
// any key (revisions would be lost without a trace), warns on one that may
// evict tombstones, and starts on one that does not answer yet (an outage
// like any later, retried). The Redis is the test's own: others start
// daemons on the shared one meanwhile.
func TestWireChecksRedis(t *testing.T) {
	srv := testenv.PrivateRedis(t)
	_, pgURL := testenv.Postgres(t)
	cfg, err := config.Parse("wire.yaml", []byte(redisViewYAML), func(k string) (string, bool) {
		return map[string]string{"PG": pgURL, "REDIS": srv.URL()}[k], true
	})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := goredis.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	admin := goredis.NewClient(opts)
	t.Cleanup(func() { _ = admin.Close() })
	wire := func(policy string) (string, error) {
		t.Helper()
		if policy != "" {
			if err := admin.ConfigSet(context.Background(), "maxmemory-policy", policy).Err(); err != nil {
				t.Fatal(err)
			}
		}
		var logs syncBuffer
		st, err := Wire(context.Background(), cfg, plan, slog.New(slog.NewTextHandler(&logs, nil)))
		if st != nil {
			st.Close()
		}
		return logs.String(), err
	}

	if _, err := wire("allkeys-lru"); !errors.Is(err, redis.ErrEvictionPolicy) || !strings.Contains(err.Error(), "allkeys-lru") {
		t.Errorf("start on allkeys-lru: %v, want ErrEvictionPolicy naming the policy", err)
	}
	logs, err := wire("volatile-lru")
	if err != nil || !strings.Contains(logs, "evict tombstones") {
		t.Errorf("start on volatile-lru: err %v, logs %q; want a start with a warning", err, logs)
	}
	logs, err = wire("noeviction")
	if err != nil || strings.Contains(logs, "level=WARN") {
		t.Errorf("start on noeviction: err %v, logs %q; want a quiet start", err, logs)
	}
	srv.Stop()
	logs, err = wire("")
	if err != nil || !strings.Contains(logs, "does not answer") {
		t.Errorf("start with Redis down: err %v, logs %q; want a start with a warning", err, logs)
	}
}
