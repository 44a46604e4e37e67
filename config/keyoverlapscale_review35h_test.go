package config_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
)

// r35hRedisViews is a configuration of n views of one source each, every
// one with its own Redis key and index: prefixes all distinct.
func r35hRedisViews(n int) []byte {
	var b strings.Builder
	b.WriteString(`version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://localhost/shop" }, redis: { url: "redis://localhost:6379" } }
sources:
  orders: { topic: shop.public.orders, key: id, columns: { id: bigint, user_id: text, at: timestamptz } }
views:
`)
	for i := range n {
		fmt.Fprintf(&b, `  v%d:
    from: orders
    fields: { id: id, user_id: user_id, at: at }
    sinks:
      redis:
        key: "team%d:order:{id}"
        indexes: [ { key: "team%d:user:{user_id}:orders", score: at } ]
`, i, i, i)
	}
	return []byte(b.String())
}

// TestR35hRedisKeyCheckIsNotQuadratic: checking that no two Redis key
// templates can give the same key compares every template with every
// other one, each comparison allocating a table of the two templates'
// lengths: four times the views take sixteen times the work. Counted in
// allocations, which do not depend on the machine's load.
func TestR35hRedisKeyCheckIsNotQuadratic(t *testing.T) {
	allocs := func(n int) float64 {
		data := r35hRedisViews(n)
		return testing.AllocsPerRun(1, func() {
			if _, err := config.ParseDraftWith("r.yaml", data, func(string) (string, bool) { return "", false }, config.Options{Offline: true}); err != nil {
				t.Fatal(err)
			}
		})
	}
	small, large := allocs(100), allocs(400)
	t.Logf("100 views: %.0f allocations; 400 views: %.0f (%.1fx)", small, large, large/small)
	if large > 6*small {
		t.Errorf("4x the views cost %.1fx the allocations (100 views: %.0f, 400: %.0f): the check grows with the square of the views", large/small, small, large)
	}
}
