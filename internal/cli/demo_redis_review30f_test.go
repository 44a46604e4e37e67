package cli

import (
	"io"
	"testing"

	"github.com/projectorhq/projector/config"
)

// TestR30fDemoOfExampleShowsRedisKeys: README, "Two commands": `make demo`
// "runs examples/shop/projector.yaml and prints rows of order_view and
// user_order_stats and their Redis keys". demo prints the Redis keys only
// when showsShop recognises the example; since the example's
// user_order_stats Redis sink lists `fields: [order_count, total_spent]`
// (commit 0b03426), servesKey (which wants no fields) no longer does, and
// `make demo` falls back to showViews: PostgreSQL rows only, no "Redis>"
// line at all.
func TestR30fDemoOfExampleShowsRedisKeys(t *testing.T) {
	t.Setenv("PROJECTOR_POSTGRES_URL", "postgres://postgres@127.0.0.1:1/projector?sslmode=disable")
	t.Setenv("PROJECTOR_REDIS_URL", "redis://127.0.0.1:1/0")
	g := &globals{config: "../../examples/shop/projector.yaml", stdout: io.Discard, stderr: io.Discard}
	_, plan, err := g.loadPlanWith(config.Options{UnsetConnections: true})
	if err != nil {
		t.Fatal(err)
	}
	if !showsShop(plan) {
		us := plan.View("user_order_stats")
		t.Errorf("demo does not recognise examples/shop/projector.yaml as the example: it prints no Redis keys "+
			"(user_order_stats redis sink: key %q format %q fields %v)", us.Sinks.Redis.Key, us.Sinks.Redis.Format, us.Sinks.Redis.Fields)
	}
}
