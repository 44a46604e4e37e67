package stack

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
)

// TestWatchStoresReportsReadiness: a Redis that does not answer at start
// is a problem of the redis sink from the start; WatchStores clears it
// once Redis answers, and reports it again when Redis goes down while
// nothing is written.
func TestWatchStoresReportsReadiness(t *testing.T) {
	srv := testenv.PrivateRedis(t)
	srv.Stop()
	_, pgURL := testenv.Postgres(t)
	cfg, plan := compilePlan(t, redisViewYAML, pgURL, srv.URL())
	var logs testenv.Logs
	st, err := Wire(context.Background(), cfg, plan, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if p := st.Engine.Problems()["redis"]; !strings.Contains(p, "does not answer at start") {
		t.Fatalf("problems after a start with Redis down: %v, want redis", st.Engine.Problems())
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { st.WatchStores(ctx, 20*time.Millisecond) })
	defer func() { cancel(); wg.Wait() }()
	until := func(what string, ok func(map[string]string) bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for !ok(st.Engine.Problems()) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: problems %v\n%s", what, st.Engine.Problems(), &logs)
			}
			<-tick.C
		}
	}
	srv.Start()
	until("redis answers again", func(p map[string]string) bool { return len(p) == 0 })
	srv.Stop()
	until("redis goes down idle", func(p map[string]string) bool { return strings.Contains(p["redis"], "does not answer") })
	if _, bad := st.Engine.Problems()["state"]; bad {
		t.Errorf("PostgreSQL answers, but problems are %v", st.Engine.Problems())
	}
	if !strings.Contains(logs.String(), "a store answers again") || !strings.Contains(logs.String(), "a store does not answer") {
		t.Errorf("the changes are not logged:\n%s", &logs)
	}
}

// TestWireStoreURLsAreConfigErrors: a store URL its driver refuses is
// ErrConfig (the CLI's exit 2), not an outage.
func TestWireStoreURLsAreConfigErrors(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	for name, set := range map[string]func(*config.Config){
		"postgres": func(c *config.Config) { c.Stores.Postgres.URL = "postgres://app@127.0.0.1:1/shop?sslmode=bogus" },
		"redis":    func(c *config.Config) { c.Stores.Redis.URL = "redis://127.0.0.1:1/abc" },
	} {
		t.Run(name, func(t *testing.T) {
			cfg, plan := compilePlan(t, redisViewYAML, pgURL, "redis://127.0.0.1:1/0")
			set(cfg)
			st, err := Wire(context.Background(), cfg, plan, nil)
			if st != nil {
				st.Close()
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "stores."+name+".url") {
				t.Errorf("Wire: %v, want ErrConfig naming stores.%s.url", err, name)
			}
		})
	}
}

// compilePlan compiles a configuration whose ${PG} and ${REDIS} name the
// given stores.
func compilePlan(t *testing.T, yaml, pgURL, redisURL string) (*config.Config, *projections.Plan) {
	t.Helper()
	cfg, err := config.Parse("wire.yaml", []byte(yaml), func(k string) (string, bool) {
		return map[string]string{"PG": pgURL, "REDIS": redisURL}[k], true
	})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, plan
}
