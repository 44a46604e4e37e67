package cli

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestReadyzFollowsIdleStores: /readyz names a store that does not answer,
// whether it never answered since start (Redis down: the daemon starts and
// retries its writes) or went down while no change flowed, and clears it
// once the store answers again, all without a single write.
func TestReadyzFollowsIdleStores(t *testing.T) {
	_, url := testenv.Postgres(t)
	rd := testenv.PrivateRedis(t)
	rd.Stop()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "cqrs.public.widgets"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Setenv("PROJECTOR_POSTGRES_URL", url)
	t.Setenv("IDLE_REDIS_URL", rd.URL())
	d := startDaemon(t, widgetsConfig(t, fmt.Sprintf(`kafka: { brokers: %q, group: readyz-idle }
stores:
  postgres: { url: "${PROJECTOR_POSTGRES_URL}" }
  redis: { url: "${IDLE_REDIS_URL}" }
admin: { listen: "127.0.0.1:0" }`, strings.Join(c.ListenAddrs(), ",")), `{ postgres: {}, redis: { key: "idle-widget:{id}" } }`))
	defer d.cancel()

	// Joined (kafka no longer named, start-up over), and Redis, which
	// never answered, still is.
	body := d.readyzUntil(t, func(status int, body string) bool {
		return !strings.Contains(body, `"kafka"`) && !strings.Contains(body, "starting")
	})
	if !strings.Contains(body, `"redis"`) || !strings.Contains(body, "unavailable") {
		t.Fatalf("/readyz after joining with redis down = %s, want 503 naming redis", body)
	}
	rd.Start()
	d.readyz(t, http.StatusOK, `"ready"`)
	rd.Stop() // no traffic: only the pings can tell
	d.readyz(t, http.StatusServiceUnavailable, `"redis"`)
}

// readyzUntil polls /readyz until done accepts its answer, and returns the
// body.
func (d *daemon) readyzUntil(t *testing.T, done func(status int, body string) bool) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for tick := time.NewTicker(50 * time.Millisecond); ; <-tick.C {
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never answered as expected; last: %s\nlog:\n%s", last, d.logs)
		}
		m := adminAddr.FindStringSubmatch(d.logs.String())
		if m == nil {
			continue
		}
		resp, err := http.Get(m[1] + "/readyz")
		if err != nil {
			last = err.Error()
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		last = fmt.Sprintf("%d %s", resp.StatusCode, b)
		if done(resp.StatusCode, string(b)) {
			tick.Stop()
			return last
		}
	}
}
