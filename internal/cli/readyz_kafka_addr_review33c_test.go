package cli

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestR33cReadyzDoesNotNameTheBrokers: README, Operations, /readyz: a
// store "while it does not answer (by the kind of failure only,
// `connection refused`, `timed out`…: the role, database, host and port
// are in the log, not on the unauthenticated admin port)"; the code says
// the same of every component (projector.PublicCause: "readiness, which
// anyone reaching the admin port reads, says of a failure … a connection
// failure by its kind alone, since its text names the store's role,
// database, host and port").
//
// Kafka's problem is not put through it: with brokers that refuse
// connections /readyz answers, to anyone who can reach the admin port
// (0.0.0.0:9464 in the compose file and any container setup):
//
//	{"problems":{"kafka":"not yet assigned partitions: unable to dial: dial tcp
//	10.1.2.3:9092: connect: connection refused"},"status":"unavailable"}
//
// naming the brokers' internal addresses, as the Kafka client's error
// text has them. Fix
// (internal/cli/run.go, daemonState.readiness): pass the Kafka health
// error through projector.PublicCause.
func TestR33cReadyzDoesNotNameTheBrokers(t *testing.T) {
	_, url := testenv.Postgres(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	broker := ln.Addr().String()
	_, port, _ := net.SplitHostPort(broker)
	ln.Close() // brokers that refuse connections
	d := startDaemon(t, widgetsConfig(t, fmt.Sprintf(`kafka: { brokers: %q, group: r33c-addr }
stores: { postgres: { url: %q } }
admin: { listen: "127.0.0.1:0" }`, broker, url), `{ postgres: {} }`))
	defer d.cancel()

	body := d.readyz(t, http.StatusServiceUnavailable, "connection refused")
	if !strings.Contains(body, `"kafka"`) {
		t.Fatalf("/readyz = %s, want kafka named", body)
	}
	if strings.Contains(body, broker) || strings.Contains(body, ":"+port) {
		t.Errorf("/readyz on the unauthenticated admin port names the broker's address %s: %s", broker, strings.TrimSpace(body))
	}
}
