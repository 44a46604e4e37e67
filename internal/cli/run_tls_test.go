package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/kafkautil"
	"github.com/projectorhq/projector/internal/kafkautil/kafkatest"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
)

const scramPassword = "scram-secret-9f2"

// daemon is one runDaemon in the background.
type daemon struct {
	logs   *testenv.Logs
	stop   chan struct{}
	done   chan error
	cancel context.CancelFunc // hard stop
}

// startDaemon runs `projector run` on the configuration file until the
// test ends (gracefully, when it has not stopped already).
func startDaemon(t *testing.T, file string) *daemon {
	t.Helper()
	cfg, err := config.Load(file, os.LookupEnv)
	if err != nil {
		t.Fatalf("config:\n%v", err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{logs: &testenv.Logs{}, stop: make(chan struct{}), done: make(chan error, 1), cancel: cancel}
	log := slog.New(slog.NewTextHandler(d.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	go func() { d.done <- runDaemon(ctx, d.stop, cfg, plan, log, daemonOptions{}) }()
	t.Cleanup(func() {
		defer cancel()
		close(d.stop)
		select {
		case err := <-d.done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("run: %v\n%s", err, d.logs)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("run did not stop within 30s\n%s", d.logs)
		}
	})
	return d
}

var adminAddr = regexp.MustCompile(`msg="admin endpoints" addr=(http://\S+)`)

// readyz waits until /readyz answers status and its body has want.
func (d *daemon) readyz(t *testing.T, status int, want string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for tick := time.NewTicker(50 * time.Millisecond); ; <-tick.C {
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never answered %d with %q; last: %s\nlog:\n%s", status, want, last, d.logs)
		}
		select {
		case err := <-d.done:
			t.Fatalf("run stopped: %v\n%s", err, d.logs)
		default:
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
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		resp.Body.Close()
		last = body.String()
		if resp.StatusCode == status && strings.Contains(last, want) {
			tick.Stop()
			return last
		}
	}
}

// mtlsScramCluster is brokers that want a client certificate of pki's CA
// and SCRAM-SHA-512 from user "projector".
func mtlsScramCluster(t *testing.T, pki *kafkatest.PKI) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "cqrs.public.widgets"),
		kfake.TLS(pki.ServerTLS(true)), kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "projector", scramPassword))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestRunSecured: `projector run` against brokers wanting mTLS and
// SCRAM-SHA-512 projects a record produced there into its view, with the
// credentials from the environment.
func TestRunSecured(t *testing.T) {
	pool, url := testenv.Postgres(t)
	pki := kafkatest.NewPKI(t)
	c := mtlsScramCluster(t, pki)
	t.Setenv("PROJECTOR_POSTGRES_URL", url)
	t.Setenv("KAFKA_USERNAME", "projector")
	t.Setenv("KAFKA_PASSWORD", scramPassword)
	file := writeConfig(t, withClientCert(securedYAML(c.ListenAddrs(), pki.CA, "scram-sha-512"), pki))
	cfg, err := config.Load(file, os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	// The test's own client goes through the same options as the daemon's.
	opts, err := kafkautil.ClientOpts(cfg.Kafka)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	d := startDaemon(t, file)
	create, err := os.ReadFile("../../../shared/debezium-samples/postgres/create_schemaless.value.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(context.Background(),
		&kgo.Record{Topic: "cqrs.public.widgets", Key: []byte(`{"id":"w1"}`), Value: create}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := kafkautil.WaitCaughtUp(ctx, kadm.NewClient(cl), "secured", time.Minute, "cqrs.public.widgets"); err != nil {
		t.Fatalf("%v\n%s", err, d.logs)
	}
	var name string
	if err := pool.QueryRow(ctx, `SELECT name FROM public.widget_view WHERE id = 'w1'`).Scan(&name); err != nil {
		t.Fatalf("the view: %v\n%s", err, d.logs)
	}
	if name == "" {
		t.Errorf("widget w1 has no name in the view")
	}
	d.readyz(t, http.StatusOK, `"ready"`)
	if logs := d.logs.String(); strings.Contains(logs, scramPassword) || strings.Contains(logs, "clear text") {
		t.Errorf("the log shows the password or warns wrongly:\n%s", logs)
	}
}

// withClientCert adds the client certificate and key under kafka.tls.
func withClientCert(yaml string, pki *kafkatest.PKI) string {
	return strings.Replace(yaml, "  tls:\n", fmt.Sprintf("  tls:\n    cert: %q\n    key: %q\n", pki.ClientCert, pki.ClientKey), 1)
}

// TestRunKafkaRefused: a daemon whose password is wrong, or that does
// not trust the brokers' CA, keeps retrying but says why, once in its
// log and in /readyz, without showing the password.
func TestRunKafkaRefused(t *testing.T) {
	_, url := testenv.Postgres(t)
	pki := kafkatest.NewPKI(t)
	c := mtlsScramCluster(t, pki)
	t.Setenv("PROJECTOR_POSTGRES_URL", url)
	t.Setenv("KAFKA_USERNAME", "projector")
	for _, tc := range []struct {
		name, password, ca, want string
	}{
		{"wrong password", "not-" + scramPassword, pki.CA, "rejected the SASL credentials"},
		{"untrusted ca", scramPassword, kafkatest.NewPKI(t).CA, "set kafka.tls.ca_cert"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("KAFKA_PASSWORD", tc.password)
			d := startDaemon(t, writeConfig(t, withClientCert(securedYAML(c.ListenAddrs(), tc.ca, "scram-sha-512"), pki)))
			// A graceful stop would wait for the consumer's start-up
			// requests to the brokers to time out.
			defer d.cancel()
			body := d.readyz(t, http.StatusServiceUnavailable, tc.want)
			var got struct{ Problems map[string]string }
			if err := json.Unmarshal([]byte(body), &got); err != nil || !strings.HasPrefix(got.Problems["kafka"], "not yet assigned partitions: ") {
				t.Errorf("/readyz = %s, want the kafka problem with its cause", body)
			}
			logs := d.logs.String()
			if n := strings.Count(logs, `msg="cannot reach kafka; retrying"`); n != 1 {
				t.Errorf("logged the cause %d times, want once:\n%s", n, logs)
			}
			if !strings.Contains(logs, tc.want) {
				t.Errorf("the log lacks %q:\n%s", tc.want, logs)
			}
			if strings.Contains(logs+body, tc.password) {
				t.Errorf("the password shows:\n%s\n%s", logs, body)
			}
		})
	}
}

// TestDaemonKafkaWarnsPlain: SASL/PLAIN without TLS is allowed, and the
// daemon warns once that the password crosses the network in clear text.
func TestDaemonKafkaWarnsPlain(t *testing.T) {
	var logs testenv.Logs
	log := slog.New(slog.NewTextHandler(&logs, nil))
	k := config.Kafka{Brokers: []string{"localhost:9092"},
		SASL: &config.SASL{Mechanism: config.SASLPlain, Username: "u", Password: "p4ss"}}
	if _, _, err := daemonKafka(k, log, nil); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "clear text"); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, logs.String())
	}
	var overTLS testenv.Logs
	k.TLS = &config.TLS{Enabled: true}
	if _, _, err := daemonKafka(k, slog.New(slog.NewTextHandler(&overTLS, nil)), nil); err != nil {
		t.Fatal(err)
	}
	if overTLS.String() != "" {
		t.Errorf("plain over TLS warned:\n%s", overTLS.String())
	}
}
