package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/kafkautil/kafkatest"
)

// kafkaYAML is a whole configuration around the given kafka block.
func kafkaYAML(kafka string) string {
	return "version: 1\nkafka:\n  brokers: kafka:9093\n" + kafka + `
stores: { postgres: { url: "postgres://localhost/shop" } }
sources: { orders: { topic: shop.public.orders } }
views: { order_view: { from: orders, fields: { id: id }, sinks: { postgres: {} } } }
`
}

func kafkaEnv(name string) (string, bool) {
	switch name {
	case "KAFKA_USERNAME":
		return "projector", true
	case "KAFKA_PASSWORD":
		return secret, true
	}
	return lookupTestEnv(name)
}

// TestKafkaSecurity decodes and validates kafka.tls and kafka.sasl
// against real PEM files.
func TestKafkaSecurity(t *testing.T) {
	pki := kafkatest.NewPKI(t)
	for _, tc := range []struct {
		name  string
		kafka string
		want  string // an error at this line:col with this text; "" for none
		check func(t *testing.T, k Kafka)
	}{
		{name: "mtls and scram", kafka: fmt.Sprintf(`  tls:
    ca_cert: %q
    cert: %q
    key: %q
    server_name: kafka.internal
  sasl:
    mechanism: SCRAM-SHA-512
    username: ${KAFKA_USERNAME}
    password: ${KAFKA_PASSWORD}`, pki.CA, pki.ClientCert, pki.ClientKey),
			check: func(t *testing.T, k Kafka) {
				want := TLS{Pos: k.TLS.Pos, Enabled: true, CACert: pki.CA, Cert: pki.ClientCert, Key: pki.ClientKey, ServerName: "kafka.internal"}
				if *k.TLS != want {
					t.Errorf("tls = %+v, want %+v", *k.TLS, want)
				}
				if k.SASL.Mechanism != SASLScramSHA512 || k.SASL.Username != "projector" || string(k.SASL.Password) != secret {
					t.Errorf("sasl = %+v", *k.SASL)
				}
			}},
		{name: "empty tls turns it on", kafka: "  tls: {}", check: func(t *testing.T, k Kafka) {
			if !k.TLS.On() {
				t.Errorf("tls: {} is off")
			}
		}},
		{name: "tls off is not checked", kafka: "  tls: { enabled: false, ca_cert: /no/such/file }", check: func(t *testing.T, k Kafka) {
			if k.TLS.On() {
				t.Errorf("enabled: false is on")
			}
		}},
		{name: "tls with every key commented out turns it on", kafka: "  tls:\n    # ca_cert: /etc/kafka/ca.pem", check: func(t *testing.T, k Kafka) {
			if !k.TLS.On() || *k.TLS != (TLS{Pos: k.TLS.Pos, Enabled: true}) || k.TLS.Pos.Line != 4 {
				t.Errorf("tls %+v, want on with the system roots, at the key", k.TLS)
			}
		}},
		{name: "tls: null turns it on", kafka: "  tls: null", check: func(t *testing.T, k Kafka) {
			if !k.TLS.On() || k.SASL != nil {
				t.Errorf("tls %+v, sasl %+v", k.TLS, k.SASL)
			}
		}},
		{name: "no tls key is plaintext", kafka: "", check: func(t *testing.T, k Kafka) {
			if k.TLS.On() || k.SchemaRegistry.TLS.On() {
				t.Errorf("tls %+v, registry tls %+v", k.TLS, k.SchemaRegistry.TLS)
			}
		}},
		{name: "plain without tls is allowed", kafka: "  sasl: { mechanism: plain, username: u, password: p }"},
		{name: "key of another certificate", kafka: fmt.Sprintf("  tls:\n    cert: %q\n    key: %q", pki.ClientCert, pki.ServerKey),
			want: `test.yaml:6:10: kafka.tls.key: ` + fmt.Sprintf("%q", pki.ServerKey) + ` is not the private key of kafka.tls.cert (tls: private key does not match public key)`},
		{name: "a key for the certificate", kafka: fmt.Sprintf("  tls:\n    cert: %q\n    key: %q", pki.ClientKey, pki.ClientKey),
			want: `test.yaml:5:11: kafka.tls.cert: ` + fmt.Sprintf("%q", pki.ClientKey) + ` holds no valid PEM certificate`},
		{name: "path from the environment is not shown", kafka: "  tls: { ca_cert: \"${SECRET_LEVEL}\" }",
			want: `test.yaml:4:19: kafka.tls.ca_cert: cannot read value from ${SECRET_LEVEL}: no such file or directory`},
		{name: "registry behind a private ca with mtls", kafka: fmt.Sprintf(`  schema_registry:
    url: https://registry:8081
    tls:
      ca_cert: %q
      cert: %q
      key: %q`, pki.CA, pki.ClientCert, pki.ClientKey),
			check: func(t *testing.T, k Kafka) {
				r := k.SchemaRegistry.TLS
				if !r.On() || r.CACert != pki.CA || r.Cert != pki.ClientCert || k.TLS != nil {
					t.Errorf("registry tls = %+v, kafka tls = %+v", r, k.TLS)
				}
			}},
		{name: "registry tls with nothing under it turns it on", kafka: "  schema_registry:\n    url: https://registry:8081\n    tls:",
			check: func(t *testing.T, k Kafka) {
				if !k.SchemaRegistry.TLS.On() {
					t.Errorf("registry tls = %+v", k.SchemaRegistry.TLS)
				}
			}},
		{name: "registry tls checked like kafka.tls", kafka: "  schema_registry:\n    url: https://registry:8081\n    tls: { ca_cert: /no/such/ca.pem, key: " + fmt.Sprintf("%q", pki.ClientKey) + " }",
			want: `test.yaml:6:21: kafka.schema_registry.tls.ca_cert: cannot read "/no/such/ca.pem": no such file or directory
test.yaml:6:43: kafka.schema_registry.tls.key needs kafka.schema_registry.tls.cert, the client certificate`},
		{name: "registry tls over http", kafka: "  schema_registry:\n    url: http://registry:8081\n    tls: {}",
			want: `test.yaml:6:10: kafka.schema_registry.tls needs an https:// kafka.schema_registry.url`},
		{name: "registry tls without a url", kafka: "  schema_registry:\n    tls: {}",
			want: `test.yaml:5:10: kafka.schema_registry.tls needs kafka.schema_registry.url`},
		{name: "sasl needs credentials", kafka: "  sasl: { mechanism: plain }",
			want: `test.yaml:4:9: kafka.sasl needs username and password`},
		{name: "aws_msk_iam takes its credentials from AWS", kafka: "  sasl: { mechanism: AWS_MSK_IAM }", check: func(t *testing.T, k Kafka) {
			if k.SASL.Mechanism != SASLAWSMSKIAM {
				t.Errorf("mechanism %q", k.SASL.Mechanism)
			}
		}},
		{name: "aws_msk_iam takes no password", kafka: "  sasl: { mechanism: aws_msk_iam, username: u, password: \"${KAFKA_PASSWORD}\" }",
			want: `test.yaml:4:45: kafka.sasl.username does not go with mechanism aws_msk_iam
test.yaml:4:58: kafka.sasl.password does not go with mechanism aws_msk_iam`},
		{name: "oauthbearer", kafka: `  sasl:
    mechanism: OAUTHBEARER
    token_url: https://idp.example/oauth2/token
    client_id: projector
    client_secret: "${KAFKA_PASSWORD}"
    scope: kafka
    extensions: { logicalCluster: lkc-1, identityPoolId: pool-2 }`, check: func(t *testing.T, k Kafka) {
			s := k.SASL
			if s.Mechanism != SASLOAuthBearer || s.ClientID != "projector" || string(s.ClientSecret) != secret || len(s.Extensions) != 2 {
				t.Errorf("sasl %+v", s)
			}
		}},
		{name: "oauthbearer needs its client", kafka: "  sasl: { mechanism: oauthbearer, username: u }",
			want: `test.yaml:4:9: kafka.sasl.mechanism oauthbearer needs kafka.sasl.token_url (empty or missing)
test.yaml:4:9: kafka.sasl.mechanism oauthbearer needs kafka.sasl.client_id (empty or missing)
test.yaml:4:9: kafka.sasl.mechanism oauthbearer needs kafka.sasl.client_secret (empty or missing)
test.yaml:4:45: kafka.sasl.username does not go with mechanism oauthbearer`},
		{name: "oauthbearer sends its secret over https only", kafka: `  sasl:
    mechanism: oauthbearer
    token_url: http://idp.example/token
    client_id: projector
    client_secret: s
    extensions: { auth: x, "a-b": y }`,
			want: `test.yaml:6:16: kafka.sasl.token_url must be https: the client secret is sent to it (http only to this machine)
test.yaml:9:19: kafka.sasl.extensions: "auth" is no extension name (letters only, not auth)
test.yaml:9:28: kafka.sasl.extensions: "a-b" is no extension name (letters only, not auth)`},
		{name: "oauthbearer to this machine over http", kafka: "  sasl: { mechanism: oauthbearer, token_url: \"http://127.0.0.1:8080/token\", client_id: p, client_secret: s }"},
		{name: "password mechanisms take no oauth client", kafka: "  sasl: { mechanism: scram-sha-512, username: u, password: p, client_id: c }",
			want: `test.yaml:4:74: kafka.sasl.client_id does not go with mechanism scram-sha-512`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("test.yaml", []byte(kafkaYAML(tc.kafka)), kafkaEnv)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("errors:\n%v", err)
			case tc.want != "" && (err == nil || err.Error() != tc.want):
				t.Fatalf("errors:\n%v\nwant:\n%s", err, tc.want)
			case err != nil && strings.Contains(err.Error(), secret):
				t.Fatalf("an error shows a secret:\n%v", err)
			}
			if tc.check != nil {
				tc.check(t, c.Kafka)
			}
		})
	}
}

// TestSecretRedacted: a Config printed, logged or marshalled by mistake
// does not show the SASL password.
func TestSecretRedacted(t *testing.T) {
	c, err := Parse("test.yaml", []byte(kafkaYAML(`  sasl: { mechanism: plain, username: u, password: "${KAFKA_PASSWORD}" }`)), kafkaEnv)
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "sasl", c.Kafka.SASL.Password, "kafka", c.Kafka)
	js, err := json.Marshal(c.Kafka)
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{
		"%v": fmt.Sprintf("%v", *c.Kafka.SASL), "%+v": fmt.Sprintf("%+v", *c.Kafka.SASL), "%#v": fmt.Sprintf("%#v", *c.Kafka.SASL),
		"%s": fmt.Sprintf("%s", c.Kafka.SASL.Password), "slog": logged.String(), "json": string(js),
	} {
		if strings.Contains(out, secret) || !strings.Contains(out, "[redacted]") {
			t.Errorf("%s shows the password or no [redacted]: %s", name, out)
		}
	}
	if string(c.Kafka.SASL.Password) != secret {
		t.Errorf("the value itself is lost")
	}
	if Secret("").String() != "" {
		t.Errorf("an empty secret should print empty")
	}
}

// TestShutdownTimeout: kafka.shutdown_timeout bounds a graceful stop; it
// defaults under Kubernetes' 30-second grace period and must be positive.
func TestShutdownTimeout(t *testing.T) {
	for _, tc := range []struct {
		name, kafka string
		want        Duration
		err         string
	}{
		{name: "default", want: DefaultShutdown},
		{name: "set", kafka: "  shutdown_timeout: 45s", want: Duration(45 * time.Second)},
		{name: "zero", kafka: "  shutdown_timeout: 0s", err: "test.yaml:4:21: kafka.shutdown_timeout must be positive: how long a graceful stop waits for the batches in flight"},
		{name: "negative", kafka: "  shutdown_timeout: -1s", err: "test.yaml:4:21: kafka.shutdown_timeout must be positive: how long a graceful stop waits for the batches in flight"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("test.yaml", []byte(kafkaYAML(tc.kafka)), kafkaEnv)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("errors:\n%v\nwant:\n%s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Kafka.ShutdownTimeout != tc.want {
				t.Errorf("kafka.shutdown_timeout = %v, want %v", c.Kafka.ShutdownTimeout, tc.want)
			}
		})
	}
}

// TestBatchBytes: kafka.batch_bytes bounds the bytes of one batch; it
// defaults to 16 MiB and must be a positive number of bytes, reported at
// its position like kafka.batch_size.
func TestBatchBytes(t *testing.T) {
	for _, tc := range []struct {
		name, kafka string
		want        int
		err         string
	}{
		{name: "default", want: DefaultBatchBytes},
		{name: "set", kafka: "  batch_bytes: 1048576", want: 1 << 20},
		{name: "from the environment", kafka: "  batch_bytes: ${BATCH_BYTES}", want: 4096},
		{name: "zero", kafka: "  batch_bytes: 0", err: "test.yaml:4:16: kafka.batch_bytes must be positive, got 0"},
		{name: "negative", kafka: "  batch_bytes: -1", err: "test.yaml:4:16: kafka.batch_bytes must be positive, got -1"},
		{name: "not a number of bytes", kafka: "  batch_bytes: 16MiB", err: `test.yaml:4:16: kafka.batch_bytes must be an integer, got "16MiB"`},
		{name: "batch size past the bound", kafka: "  batch_size: 4611686018427387904",
			err: "test.yaml:4:15: kafka.batch_size must be at most 1000000, got 4611686018427387904"},
		{name: "zero with a bad batch size", kafka: "  batch_size: 0\n  batch_bytes: 0",
			err: "test.yaml:4:15: kafka.batch_size must be positive, got 0\ntest.yaml:5:16: kafka.batch_bytes must be positive, got 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lookup := func(name string) (string, bool) {
				if name == "BATCH_BYTES" {
					return "4096", true
				}
				return kafkaEnv(name)
			}
			c, err := Parse("test.yaml", []byte(kafkaYAML(tc.kafka)), lookup)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("errors:\n%v\nwant:\n%s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Kafka.BatchBytes != tc.want {
				t.Errorf("kafka.batch_bytes = %d, want %d", c.Kafka.BatchBytes, tc.want)
			}
		})
	}
}
