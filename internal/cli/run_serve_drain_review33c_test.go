package cli

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestR33cRunServeUnreadyWhileStopping: `projector run --serve ADDR`
// serves "the query API (below)" (README, Commands) in the daemon's
// process. For `projector serve` README, Operations, says its "/readyz is
// 503 naming … `projector` while it stops", so that a load balancer stops
// sending requests before the listener goes away. `run --serve` does not:
// after the first SIGTERM it drains the batch in flight (up to
// kafka.shutdown_timeout, 20 s by default, longer with a store down) and
// all that time /readyz answers 200 {"status":"ready"} and the query API
// keeps taking new requests; then the listener is shut down with 5 s of
// grace (run.go), cutting requests a load balancer is still sending there
// (a read-your-writes wait may take 30 s). Observed: 20 s of drain with
// /readyz 200 throughout.
//
// Here the drain is held by the batch's write waiting on a lock of the
// view table. Fix (internal/cli/run.go, daemonState.readiness): as
// serveState does, report `projector: stopping …` from the first signal.
func TestR33cRunServeUnreadyWhileStopping(t *testing.T) {
	d := r33cStuckWrite(t, "r33c-drain", "127.0.0.1:0", "10m")
	if !strings.Contains(d.logs.String(), `msg="query api"`) {
		t.Fatalf("the query API is not served\n%s", d.logs)
	}
	close(d.stop) // the first SIGTERM: the daemon drains the batch in flight
	body := d.readyzUntilOr(t, 10*time.Second, func(status int, _ string) bool { return status == http.StatusServiceUnavailable })
	if !strings.HasPrefix(body, "503") || !strings.Contains(body, "projector") {
		t.Errorf("/readyz of `run --serve` draining after the first signal: %s, want 503 naming projector (stopping), as `serve`'s", body)
	}
}
