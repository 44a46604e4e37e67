package cli

import (
	"context"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestRunRefusedEvictionPolicyIsUsage: a Redis whose maxmemory-policy may
// evict any key is a setting the operator must change, so `run` refuses it
// with exit 2 (an invalid configuration), as it does a wrong password, not
// 1 (a runtime failure a restart might cure). The Redis is the test's own.
func TestRunRefusedEvictionPolicyIsUsage(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	rd := testenv.PrivateRedis(t)
	opts, err := goredis.ParseURL(rd.URL())
	if err != nil {
		t.Fatal(err)
	}
	admin := goredis.NewClient(opts)
	defer admin.Close()
	if err := admin.ConfigSet(context.Background(), "maxmemory-policy", "allkeys-lru").Err(); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PROJECTOR_POSTGRES_URL", pgURL)
	t.Setenv("EVICTING_REDIS_URL", rd.URL())
	p := widgetsConfig(t, `kafka: { brokers: "127.0.0.1:1", group: eviction-policy }
stores:
  postgres: { url: "${PROJECTOR_POSTGRES_URL}" }
  redis: { url: "${EVICTING_REDIS_URL}" }
admin: { listen: off }`, `{ redis: { key: "evicting-widget:{id}" } }`)
	code, _, errs := run(t, "run", "-c", p)
	if code != ExitUsage || !strings.Contains(errs, "allkeys-lru") || !strings.Contains(errs, "noeviction") {
		t.Errorf("run on an allkeys-lru Redis: exit %d, want %d naming the policy and the fix\n%s", code, ExitUsage, errs)
	}
}
