package cli

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestR23bRedisNeverAnsweredIsNotLost: a view first deployed while its
// Redis does not answer, and a daemon restarted before Redis came back
// (a crash loop, a rolling restart), must not be taken for a Redis that
// lost the view's documents: Redis never held any. Once Redis answers,
// the restarted daemon is ready, as it is after a first start that Redis
// never answered (the registry's es_aliased note does the same for
// Elasticsearch).
func TestR23bRedisNeverAnsweredIsNotLost(t *testing.T) {
	_, url := testenv.Postgres(t)
	rd := testenv.PrivateRedis(t)
	rd.Stop()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "cqrs.public.widgets"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Setenv("PROJECTOR_POSTGRES_URL", url)
	t.Setenv("R23B_REDIS_URL", rd.URL())
	file := widgetsConfig(t, fmt.Sprintf(`kafka: { brokers: %q, group: r23b-marker }
stores:
  postgres: { url: "${PROJECTOR_POSTGRES_URL}" }
  redis: { url: "${R23B_REDIS_URL}" }
admin: { listen: "127.0.0.1:0" }`, strings.Join(c.ListenAddrs(), ",")), `{ postgres: {}, redis: { key: "r23b-widget:{id}" } }`)

	first := startDaemon(t, file)
	first.readyzUntil(t, func(status int, body string) bool {
		return status == http.StatusServiceUnavailable && strings.Contains(body, `"redis"`) &&
			!strings.Contains(body, `"kafka"`) && !strings.Contains(body, "starting")
	})
	r23bStop(t, first)

	d := startDaemon(t, file)
	d.readyzUntil(t, func(status int, body string) bool {
		return !strings.Contains(body, `"kafka"`) && !strings.Contains(body, "starting")
	})
	rd.Start()
	d.readyz(t, http.StatusOK, `"ready"`)
}

// r23bStop stops d gracefully and waits for it.
func r23bStop(t *testing.T, d *daemon) {
	t.Helper()
	close(d.stop)
	select {
	case err := <-d.done:
		if err != nil {
			t.Fatalf("run: %v\n%s", err, d.logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("run did not stop\n%s", d.logs)
	}
	d.stop = make(chan struct{}) // the cleanup closes it again
	d.done <- nil
}
