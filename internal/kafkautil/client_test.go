package kafkautil_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/kafkautil"
	"github.com/projectorhq/projector/internal/kafkautil/kafkatest"
	"github.com/projectorhq/projector/internal/testenv"
)

const password = "s3cr3t-pa55"

// secureCluster is a kfake cluster over TLS (mTLS when asked) that
// authenticates user "projector" with every SASL mechanism projector speaks.
func secureCluster(t *testing.T, pki *kafkatest.PKI, mTLS bool) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"),
		kfake.TLS(pki.ServerTLS(mTLS)), kfake.EnableSASL(),
		kfake.Superuser("PLAIN", "projector", password),
		kfake.Superuser("SCRAM-SHA-256", "projector", password),
		kfake.Superuser("SCRAM-SHA-512", "projector", password))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// reach lists the cluster's brokers with a client built by ClientOpts.
func reach(t *testing.T, k config.Kafka) error {
	t.Helper()
	opts, err := kafkautil.ClientOpts(k)
	if err != nil {
		return err
	}
	h := kafkautil.NewHealth(nil)
	cl, err := kgo.NewClient(append(opts, h.Opt())...)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = kadm.NewClient(cl).ListTopics(ctx, "t")
	return h.Explain(err)
}

// TestClientOpts connects with each mechanism over TLS and mTLS, and
// checks that a wrong password, an untrusted CA, a missing client
// certificate and plaintext to a TLS listener fail naming the cause.
func TestClientOpts(t *testing.T) {
	pki := kafkatest.NewPKI(t)
	other := kafkatest.NewPKI(t) // a CA the brokers' certificate is not from
	tlsAddrs := secureCluster(t, pki, false)
	mtlsAddrs := secureCluster(t, pki, true)
	sasl := func(mech, pass string) *config.SASL {
		return &config.SASL{Mechanism: mech, Username: "projector", Password: config.Secret(pass)}
	}
	trust := &config.TLS{Enabled: true, CACert: pki.CA}
	for _, tc := range []struct {
		name string
		k    config.Kafka
		want string // "" succeeds; else in the error
	}{
		{"scram-sha-512 over tls", config.Kafka{Brokers: tlsAddrs, TLS: trust, SASL: sasl(config.SASLScramSHA512, password)}, ""},
		{"scram-sha-256 over tls", config.Kafka{Brokers: tlsAddrs, TLS: trust, SASL: sasl(config.SASLScramSHA256, password)}, ""},
		{"plain over tls", config.Kafka{Brokers: tlsAddrs, TLS: trust, SASL: sasl(config.SASLPlain, password)}, ""},
		{"server name override", config.Kafka{Brokers: tlsAddrs,
			TLS: &config.TLS{Enabled: true, CACert: pki.CA, ServerName: "localhost"}, SASL: sasl(config.SASLPlain, password)}, ""},
		{"mtls", config.Kafka{Brokers: mtlsAddrs,
			TLS:  &config.TLS{Enabled: true, CACert: pki.CA, Cert: pki.ClientCert, Key: pki.ClientKey},
			SASL: sasl(config.SASLScramSHA512, password)}, ""},
		{"wrong password", config.Kafka{Brokers: tlsAddrs, TLS: trust, SASL: sasl(config.SASLScramSHA512, "wrong")},
			"rejected the SASL credentials"},
		{"untrusted ca", config.Kafka{Brokers: tlsAddrs, TLS: &config.TLS{Enabled: true, CACert: other.CA}, SASL: sasl(config.SASLPlain, password)},
			"set kafka.tls.ca_cert"},
		{"system roots", config.Kafka{Brokers: tlsAddrs, TLS: &config.TLS{Enabled: true}, SASL: sasl(config.SASLPlain, password)},
			"set kafka.tls.ca_cert"},
		{"wrong server name", config.Kafka{Brokers: tlsAddrs,
			TLS: &config.TLS{Enabled: true, CACert: pki.CA, ServerName: "kafka.example"}, SASL: sasl(config.SASLPlain, password)},
			"kafka.tls.server_name"},
		{"mtls without a client certificate", config.Kafka{Brokers: mtlsAddrs, TLS: trust, SASL: sasl(config.SASLPlain, password)},
			"set kafka.tls.cert and kafka.tls.key"},
		{"tls turned off", config.Kafka{Brokers: tlsAddrs, TLS: &config.TLS{}, SASL: sasl(config.SASLPlain, password)},
			"is TLS missing?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := reach(t, tc.k)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want a connection, got %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			case err != nil && strings.Contains(err.Error(), password):
				t.Fatalf("the error shows the password: %v", err)
			}
		})
	}
}

// TestClientOptsBadFiles: a PEM file that changed since validation fails
// ClientOpts with ErrSecurity, not a client that cannot connect.
func TestClientOptsBadFiles(t *testing.T) {
	pki := kafkatest.NewPKI(t)
	for name, tl := range map[string]*config.TLS{
		"missing ca":      {Enabled: true, CACert: pki.CA + ".gone"},
		"ca not pem":      {Enabled: true, CACert: pki.ClientKey},
		"key of another":  {Enabled: true, Cert: pki.ClientCert, Key: pki.ServerKey},
		"missing key":     {Enabled: true, Cert: pki.ClientCert, Key: pki.ClientKey + ".gone"},
		"cert is the key": {Enabled: true, Cert: pki.ClientKey, Key: pki.ClientKey},
	} {
		if _, err := kafkautil.ClientOpts(config.Kafka{Brokers: []string{"localhost:9093"}, TLS: tl}); !errors.Is(err, kafkautil.ErrSecurity) {
			t.Errorf("%s: err %v, want ErrSecurity", name, err)
		}
	}
	_, err := kafkautil.ClientOpts(config.Kafka{SASL: &config.SASL{Mechanism: "gssapi"}})
	if !errors.Is(err, kafkautil.ErrSecurity) {
		t.Errorf("unknown mechanism: err %v, want ErrSecurity", err)
	}
}

func TestWarnings(t *testing.T) {
	plain := &config.SASL{Mechanism: config.SASLPlain, Username: "u", Password: "p"}
	scram := &config.SASL{Mechanism: config.SASLScramSHA512, Username: "u", Password: "p"}
	on := &config.TLS{Enabled: true}
	for _, tc := range []struct {
		name string
		k    config.Kafka
		want int
	}{
		{"plain without tls", config.Kafka{SASL: plain}, 1},
		{"plain with tls off", config.Kafka{SASL: plain, TLS: &config.TLS{}}, 1},
		{"plain over tls", config.Kafka{SASL: plain, TLS: on}, 0},
		{"scram without tls", config.Kafka{SASL: scram}, 0},
		{"oauthbearer without tls", config.Kafka{SASL: &config.SASL{Mechanism: config.SASLOAuthBearer}}, 1},
		{"oauthbearer over tls", config.Kafka{SASL: &config.SASL{Mechanism: config.SASLOAuthBearer}, TLS: on}, 0},
		{"aws_msk_iam without tls", config.Kafka{SASL: &config.SASL{Mechanism: config.SASLAWSMSKIAM}}, 1},
		{"aws_msk_iam over tls", config.Kafka{SASL: &config.SASL{Mechanism: config.SASLAWSMSKIAM}, TLS: on}, 0},
		{"nothing", config.Kafka{}, 0},
	} {
		if got := kafkautil.Warnings(tc.k); len(got) != tc.want {
			t.Errorf("%s: %d warnings %q, want %d", tc.name, len(got), got, tc.want)
		}
	}
}

// failedConnects closes three once three connections could not be set up.
type failedConnects struct {
	n     atomic.Int32
	three chan struct{}
}

func (f *failedConnects) OnBrokerConnect(_ kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if err != nil && f.n.Add(1) == 3 {
		close(f.three)
	}
}

// TestHealth: a group member with a wrong password keeps the explained
// cause and logs it once, however often franz-go retries.
func TestHealth(t *testing.T) {
	pki := kafkatest.NewPKI(t)
	addrs := secureCluster(t, pki, false)
	var logs testenv.Logs
	h := kafkautil.NewHealth(slog.New(slog.NewTextHandler(&logs, nil)))
	opts, err := kafkautil.ClientOpts(config.Kafka{Brokers: addrs, TLS: &config.TLS{Enabled: true, CACert: pki.CA},
		SASL: &config.SASL{Mechanism: config.SASLScramSHA512, Username: "projector", Password: "wrong"}})
	if err != nil {
		t.Fatal(err)
	}
	failed := &failedConnects{three: make(chan struct{})}
	cl, err := kgo.NewClient(append(opts, h.Opt(), kgo.WithHooks(failed), kgo.ConsumerGroup("g"), kgo.ConsumeTopics("t"),
		kgo.RetryBackoffFn(func(int) time.Duration { return 10 * time.Millisecond }))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	select {
	case <-failed.three:
	case <-time.After(20 * time.Second):
		t.Fatalf("%d failed connections within 20s; health: %v", failed.n.Load(), h.Err())
	}
	if err := h.Err(); err == nil || !strings.Contains(err.Error(), "rejected the SASL credentials") {
		t.Fatalf("health = %v, want the SASL failure explained", err)
	}
	if n := strings.Count(logs.String(), "cannot reach kafka"); n != 1 {
		t.Errorf("logged the failure %d times, want once:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "wrong") {
		t.Errorf("the log shows the password:\n%s", logs.String())
	}
}
