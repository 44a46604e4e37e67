package projector_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestR30pReadyzStateKeepsConnectionDetails: commit af3bc79 made /readyz
// (unauthenticated, usually on every interface) name a store that does
// not answer "by the kind of failure only, connection refused, timed
// out…: the role, database, host and port are in the log, not on the
// unauthenticated admin port" (README). Only the probes' verdicts go
// through publicCause: the engine's own reports — a batch's state
// transaction (Consumer.retry → "state") and a sink's write
// (writeRoute → the sink's name) — still put the driver's whole error
// into /readyz, under the same components. With the query PostgreSQL
// down, /readyz shows its host and port ("failed to connect to
// `user=… database=…`: 127.0.0.1:PORT …").
func TestR30pReadyzStateKeepsConnectionDetails(t *testing.T) {
	ps := testenv.PrivatePostgres(t)
	_, prefix := testenv.Redis(t)
	kc := newCluster(t, 3, shopTopics...)
	cfg, plan := loadPlan(t, shopConfig(t, kc, ps.URL(), prefix, "shop"), nil)
	u, err := url.Parse(ps.URL())
	if err != nil {
		t.Fatal(err)
	}
	hostPort := u.Host

	o := startOutage(t, kc, cfg, plan, 12)
	ps.Stop()
	defer ps.Start()
	deadline := time.Now().Add(time.Minute)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	seen := 0
	for seen < 200 && time.Now().Before(deadline) {
		_, problems := readyz(t, o.readyz)
		for c, p := range problems {
			if c != "state" && c != "postgres" {
				continue
			}
			seen++
			if strings.Contains(p, hostPort) || strings.Contains(p, "user=") {
				t.Fatalf("/readyz, unauthenticated, names the query PostgreSQL's connection (%s): %s: %s", hostPort, c, p)
			}
		}
		<-tick.C
	}
	if seen == 0 {
		t.Fatalf("/readyz never reported the query PostgreSQL down")
	}
}
