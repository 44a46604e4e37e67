package stack

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestStoresFollowTheirStores: the stores `projector serve` reads are
// unready until their first ping answers, a store that does not answer is
// named, and it is cleared once it answers, without any query.
func TestStoresFollowTheirStores(t *testing.T) {
	srv := testenv.PrivateRedis(t)
	srv.Stop()
	_, pgURL := testenv.Postgres(t)
	cfg, plan := compilePlan(t, redisViewYAML, pgURL, srv.URL())
	stores, err := OpenStores(cfg, plan, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer stores.Close()
	if p := stores.Problems(); p["postgres"] == "" || p["redis"] == "" {
		t.Errorf("before any ping: %v, want postgres and redis not ready", p)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { stores.Watch(ctx, 20*time.Millisecond) })
	defer func() { cancel(); wg.Wait() }()

	until := func(what string, done func(map[string]string) bool) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for p := stores.Problems(); !done(p); p = stores.Problems() {
			select {
			case <-deadline:
				t.Fatalf("%s: problems %v", what, p)
			case <-tick.C:
			}
		}
	}
	until("redis down", func(p map[string]string) bool {
		return p["postgres"] == "" && p["redis"] != "" && p["redis"] != notChecked
	})
	srv.Start()
	until("redis back", func(p map[string]string) bool { return len(p) == 0 })
}
