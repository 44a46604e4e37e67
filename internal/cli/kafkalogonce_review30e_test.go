package cli

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/kafkautil/kafkatest"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
)

// TestR30eUntrustedBrokerCertificateLoggedOnce: README (Kafka with TLS and
// SASL): "A daemon the brokers refuse (wrong password, a certificate it
// does not trust) keeps retrying, logs the cause once with what to change,
// and /readyz says it". The broker here presents a certificate of a CA
// the daemon does not trust.
//
// projector's own line ("cannot reach kafka; retrying", with the hint) is
// logged once, but the Kafka client's "unable to open connection to
// broker" warning, carrying the same x509 error, goes through
// kafkaLogger (projector/logging.go: warnings and up pass) on every
// retry, for as long as the daemon runs: every few seconds, forever.
func TestR30eUntrustedBrokerCertificateLoggedOnce(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	brokerPKI := kafkatest.NewPKI(t) // the broker's; the daemon trusts another CA
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var attempts atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				s := tls.Server(c, brokerPKI.ServerTLS(false))
				_ = s.Handshake() // the client refuses the certificate
				attempts.Add(1)
			}()
		}
	}()
	t.Setenv("PROJECTOR_POSTGRES_URL", pgURL)
	file := widgetsConfig(t, `kafka:
  brokers: "`+ln.Addr().String()+`"
  group: r30e-untrusted
  tls: { ca_cert: "`+kafkatest.NewPKI(t).CA+`" }
stores: { postgres: { url: "${PROJECTOR_POSTGRES_URL}" } }
admin: { listen: "127.0.0.1:0" }`, `{ postgres: {} }`)
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
	done := make(chan error, 1)
	// Only to retry sooner than every 5 s (the client's metadata
	// refresh): what is logged per retry is the same.
	fast := []kgo.Opt{kgo.MetadataMinAge(50 * time.Millisecond), kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond })}
	go func() { done <- runDaemon(ctx, make(chan struct{}), cfg, plan, log, daemonOptions{extra: fast}) }()
	defer func() { cancel(); <-done }()

	const cause = "certificate signed by unknown authority"
	countAfter := func(n int64) int {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for attempts.Load() < n {
			if time.Now().After(deadline) {
				t.Fatalf("the daemon made %d connection attempts in 30s, want %d\n%s", attempts.Load(), n, &logs)
			}
			<-tick.C
		}
		return strings.Count(logs.String(), cause)
	}
	first := countAfter(5)
	later := countAfter(attempts.Load() + 10)
	if later > first {
		t.Errorf("the untrusted certificate is logged again on every retry: %d lines naming it after the first attempts, %d after 10 more (README: \"logs the cause once\")\n%s", first, later, &logs)
	}
}
