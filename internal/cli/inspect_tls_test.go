package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/projectorhq/projector/internal/kafkautil/kafkatest"
)

// securedYAML is a configuration reaching brokers over TLS, trusting ca,
// with SASL credentials from KAFKA_USERNAME and KAFKA_PASSWORD.
func securedYAML(brokers []string, ca, mechanism string) string {
	return fmt.Sprintf(`version: 1
kafka:
  brokers: %q
  group: secured
  tls:
    ca_cert: %q
  sasl:
    mechanism: %s
    username: ${KAFKA_USERNAME}
    password: ${KAFKA_PASSWORD}
stores: { postgres: { url: "${PROJECTOR_POSTGRES_URL}" } }
admin: { listen: "127.0.0.1:0" }
sources:
  widgets:
    topic: cqrs.public.widgets
    key: id
    columns: { id: text, name: text }
views:
  widget_view:
    from: widgets
    fields: { id: id, name: name }
    sinks: { postgres: {} }
`, strings.Join(brokers, ","), ca, mechanism)
}

func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "projector.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestInspectTopicSecured reads a record from brokers that want SASL/PLAIN
// over TLS (Confluent Cloud's setup), the settings coming from -c and
// the credentials from the environment; a wrong password fails naming it.
func TestInspectTopicSecured(t *testing.T) {
	pki := kafkatest.NewPKI(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "cqrs.public.widgets"),
		kfake.TLS(pki.ServerTLS(false)), kfake.EnableSASL(), kfake.Superuser("PLAIN", "api-key", "api-secret"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	producer, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DialTLSConfig(pki.ClientTLS()),
		kgo.SASL(plain.Auth{User: "api-key", Pass: "api-secret"}.AsMechanism()))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	create, err := os.ReadFile("../../../shared/debezium-samples/postgres/create_schemaless.value.json")
	if err != nil {
		t.Fatal(err)
	}
	rec := &kgo.Record{Topic: "cqrs.public.widgets", Key: []byte(`{"id":"w1"}`), Value: create}
	if err := producer.ProduceSync(context.Background(), rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PROJECTOR_POSTGRES_URL", "postgres://localhost/x")
	t.Setenv("KAFKA_USERNAME", "api-key")
	t.Setenv("KAFKA_PASSWORD", "api-secret")
	file := writeConfig(t, securedYAML(c.ListenAddrs(), pki.CA, "PLAIN"))

	code, out, errs := run(t, "inspect", "-c", file, "--topic", "cqrs.public.widgets", "--offset", "0")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got struct {
		Op  string         `json:"op"`
		Key map[string]any `json:"key"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Op != "c" || got.Key["id"] != "w1" {
		t.Errorf("inspect = %s; want the create of w1", out)
	}
	// --brokers with -c: the brokers given, the security of the file.
	code, _, errs = run(t, "inspect", "-c", file, "--brokers", strings.Join(c.ListenAddrs(), ","),
		"--topic", "cqrs.public.widgets", "--offset", "0")
	if code != ExitOK {
		t.Fatalf("--brokers with -c: exit %d: %s", code, errs)
	}

	t.Setenv("KAFKA_PASSWORD", "not-the-secret")
	code, _, errs = run(t, "inspect", "-c", file, "--topic", "cqrs.public.widgets", "--offset", "0")
	if code != ExitFailure || !strings.Contains(errs, "rejected the SASL credentials") {
		t.Errorf("wrong password: exit %d, want %d and the cause:\n%s", code, ExitFailure, errs)
	}
	if strings.Contains(errs, "not-the-secret") {
		t.Errorf("the error shows the password:\n%s", errs)
	}
}
