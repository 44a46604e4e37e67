package cli

import (
	"context"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestR29jDemoRefusedStoreSettingIsUsage: README, Commands: "Exit codes: 0
// ok, 1 runtime failure, 2 bad usage or invalid configuration, including a
// store setting `run` refuses at start (Redis credentials, an `allkeys-*`
// eviction policy, a missing RedisJSON module)". `run` maps the stack's
// ErrConfig to exit 2 (runExit); `demo` runs the same daemon (runDaemon)
// but wraps whatever it returns as a runtime failure ("projector stopped:
// …", exit 1), so the same refused setting exits 1 under demo: a script or
// CI step cannot tell a configuration to fix from a failure to retry.
//
// Private servers: demo drops projector_demo and clears order:* keys.
func TestR29jDemoRefusedStoreSettingIsUsage(t *testing.T) {
	pg := testenv.PrivatePostgres(t)
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
	t.Setenv("PROJECTOR_POSTGRES_URL", pg.URL())
	t.Setenv("PROJECTOR_REDIS_URL", rd.URL())
	t.Setenv("PROJECTOR_ELASTICSEARCH_URL", "")
	t.Setenv("PROJECTOR_ADMIN_LISTEN", "127.0.0.1:0")
	code, out, errs := run(t, "demo", "-c", "../../examples/shop/projector.yaml", "--users", "5", "--orders", "5", "--changes", "5")
	if code != ExitUsage {
		t.Errorf("demo on an allkeys-lru Redis: exit %d, want %d (a store setting run refuses at start)\nstdout:\n%s\nstderr (tail):\n%s",
			code, ExitUsage, out, r27dTail(errs, 3))
	}
}
