package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
)

// TestR30eRedisDatabaseOutOfRangeIsRefusedAtStart: stores.redis.url names
// database 99 of a Redis with the default 16 databases. Redis answers
// every connection with "ERR DB index is out of range": a setting of the
// URL no retry can fix, like a wrong password (README, Commands: "exit 2
// ... including a store setting run refuses at start (Redis credentials,
// ...)"; stack.checkRedis: "a wrong password ... is a setting no retry
// fixes, so refusing to start says so at once, where retrying would look
// like an outage forever").
//
// Today `run` logs "redis does not answer at start; its writes are
// retried" (Redis did answer) and runs, unready, for ever: an operator is
// told of an outage that is a typo in the URL.
func TestR30eRedisDatabaseOutOfRangeIsRefusedAtStart(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	rd := testenv.PrivateRedis(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "cqrs.public.widgets"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Setenv("PROJECTOR_POSTGRES_URL", pgURL)
	t.Setenv("R30E_REDIS_URL", strings.TrimSuffix(rd.URL(), "/0")+"/99")
	file := widgetsConfig(t, fmt.Sprintf(`kafka: { brokers: %q, group: r30e-redis-db }
stores:
  postgres: { url: "${PROJECTOR_POSTGRES_URL}" }
  redis: { url: "${R30E_REDIS_URL}" }
admin: { listen: "127.0.0.1:0" }`, strings.Join(c.ListenAddrs(), ",")), `{ redis: { key: "r30e-widget:{id}" } }`)
	cfg, err := config.Load(file, os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var logs testenv.Logs
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- runExit(ctx, runDaemon(ctx, stop, cfg, plan, log, daemonOptions{})) }()
	defer func() {
		select {
		case <-done:
		default:
			close(stop)
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Errorf("run did not stop")
			}
		}
	}()

	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			done <- err // for the deferred check
			var exit *exitError
			if !errors.As(err, &exit) || exit.code != ExitUsage {
				t.Fatalf("run with redis database 99 of 16: %v, want exit %d\n%s", err, ExitUsage, &logs)
			}
			return
		case <-deadline:
			t.Fatalf("run neither refused nor started within 30s\n%s", &logs)
		case <-tick.C:
		}
		m := adminAddr.FindStringSubmatch(logs.String())
		if m == nil {
			continue
		}
		resp, err := http.Get(m[1] + "/readyz")
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "starting") {
			t.Fatalf("run with redis database 99 of 16 (Redis: ERR DB index is out of range) started and runs unready instead of refusing the setting with exit %d;\n/readyz: %s\nlog:\n%s", ExitUsage, body, &logs)
		}
	}
}
