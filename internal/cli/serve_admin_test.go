package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/testenv"
)

var queryAddr = regexp.MustCompile(`msg="query api" addr=(http://\S+)`)

// TestServeAdminEndpoints: standalone `projector serve` answers /healthz,
// /readyz (naming a store that does not answer, until it does) and
// /metrics (the query API's own) on admin.listen, as `run --serve` does,
// so that a load balancer can check it.
func TestServeAdminEndpoints(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	rd := testenv.PrivateRedis(t)
	rd.Stop()
	t.Setenv("PROJECTOR_POSTGRES_URL", pgURL)
	t.Setenv("SERVE_REDIS_URL", rd.URL())
	p := widgetsConfig(t, `kafka: { brokers: "127.0.0.1:1", group: serve-admin }
stores:
  postgres: { url: "${PROJECTOR_POSTGRES_URL}" }
  redis: { url: "${SERVE_REDIS_URL}" }
admin: { listen: "127.0.0.1:0" }`, `{ postgres: {}, redis: { key: "serve-widget:{id}" } }`)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &testenv.Logs{}
	exit := make(chan int, 1)
	go func() { exit <- Main(ctx, []string{"serve", "-c", p, "--listen", "127.0.0.1:0"}, io.Discard, logs) }()
	var api, admin string
	pollUntil(t, "serve to log its addresses", exit, logs, func() bool {
		api, admin = submatch(queryAddr, logs.String()), submatch(adminAddr, logs.String())
		return api != "" && admin != ""
	})

	if status, body := httpGet(t, admin+"/healthz"); status != http.StatusOK {
		t.Errorf("/healthz: %d %s", status, body)
	}
	pollUntil(t, "/readyz to name redis", exit, logs, func() bool {
		status, body := httpGet(t, admin+"/readyz")
		return status == http.StatusServiceUnavailable && strings.Contains(body, `"redis"`) && !strings.Contains(body, "not checked")
	})
	rd.Start()
	pollUntil(t, "/readyz to be ready once redis answers", exit, logs, func() bool {
		status, _ := httpGet(t, admin+"/readyz")
		return status == http.StatusOK
	})
	if status, body := httpGet(t, api+"/v1/views"); status != http.StatusOK {
		t.Fatalf("/v1/views: %d %s", status, body)
	}
	_, metrics := httpGet(t, admin+"/metrics")
	for _, want := range []string{`projector_query_requests_total{code="200"`, "projector_query_request_seconds_bucket"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, metrics)
		}
	}

	cancel()
	if code := <-exit; code != ExitOK {
		t.Errorf("serve: exit %d, want 0\n%s", code, logs)
	}
}

// TestServeStopNoticeSpeaksOfRequests: on SIGTERM serve drains its
// requests and exits 0, and its log says so in words of requests: it has
// no batch in flight, as the consumer's notice would claim.
func TestServeStopNoticeSpeaksOfRequests(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	t.Setenv("PROJECTOR_POSTGRES_URL", pgURL)
	p := widgetsConfig(t, `kafka: { brokers: "127.0.0.1:1", group: serve-stop }
stores: { postgres: { url: "${PROJECTOR_POSTGRES_URL}" } }
admin: { listen: off }`, `{ postgres: {} }`)
	logs := &testenv.Logs{}
	exit := make(chan int, 1)
	go func() {
		exit <- Main(context.Background(), []string{"serve", "-c", p, "--listen", "127.0.0.1:0"}, io.Discard, logs)
	}()
	// Logged once serve listens for signals: a SIGTERM before would kill
	// the test process.
	pollUntil(t, "serve to start", exit, logs, func() bool { return submatch(queryAddr, logs.String()) != "" })
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exit:
		if code != ExitOK {
			t.Errorf("serve after SIGTERM: exit %d, want 0\n%s", code, logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not stop on SIGTERM\n%s", logs)
	}
	if l := logs.String(); !strings.Contains(l, "finishing those in flight") || strings.Contains(l, "batch") {
		t.Errorf("serve's stop notice speaks of batches, or not of requests:\n%s", l)
	}
}

func submatch(re *regexp.Regexp, s string) string {
	if m := re.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return ""
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// pollUntil polls done until it holds, failing after 30 seconds or when the
// command exits first.
func pollUntil(t *testing.T, what string, exit <-chan int, logs fmt.Stringer, done func() bool) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !done() {
		select {
		case code := <-exit:
			t.Fatalf("waiting for %s: exited %d\n%s", what, code, logs)
		case <-deadline:
			t.Fatalf("waiting for %s: timed out\n%s", what, logs)
		case <-tick.C:
		}
	}
}
