package projtest

import (
	"os"
	"strings"
	"testing"
)

// runOffline runs a case of an order in a config with the given
// replacement of its head, where the named variables are not set.
func runOffline(t *testing.T, old, new string, unset ...string) {
	t.Helper()
	for _, name := range unset {
		t.Setenv(name, "") // restored after the test
		os.Unsetenv(name)
	}
	expectPass(t, strings.Replace(ordersCfg, old, new, 1), `  - name: x
    given:
      - { source: orders, after: { id: 1, user_id: u1, status: paid } }
    expect:
      order_view: { "1": { status: paid } }
`)
}

// Tests run without Kafka or databases: the config's connection settings
// are not checked and need none of their variables, as in CI where only
// production has them.
func TestConfigConnectionSettingsAreNotNeeded(t *testing.T) {
	t.Run("kafka tls", func(t *testing.T) {
		runOffline(t, `kafka: { brokers: "localhost:9092" }`, `kafka:
  brokers: ${TEST_KAFKA_BROKERS}
  tls: { ca_cert: "${TEST_KAFKA_CA_CERT}", cert: /nonexistent/client.pem, key: /nonexistent/client.key }
  sasl: { mechanism: plain, username: "${TEST_KAFKA_USER}", password: "${TEST_KAFKA_PASSWORD}" }
  schema_registry: { url: "${TEST_SCHEMA_REGISTRY_URL}" }
`, "TEST_KAFKA_BROKERS", "TEST_KAFKA_CA_CERT", "TEST_KAFKA_USER", "TEST_KAFKA_PASSWORD", "TEST_SCHEMA_REGISTRY_URL")
	})
	t.Run("stores", func(t *testing.T) {
		runOffline(t, `stores: { postgres: { url: "postgres://x/y" } }`, `stores:
  postgres: { url: "${DATABASE_URL}" }
  redis: { url: "${REDIS_URL}" }
  elasticsearch: { url: "${ELASTICSEARCH_URL:-}" }
admin: { listen: "${ADMIN_LISTEN}" }
`, "DATABASE_URL", "REDIS_URL", "ELASTICSEARCH_URL", "ADMIN_LISTEN")
	})
}

// What the views need is still checked: a topic from an unset variable is
// reported, not replaced by a stand-in.
func TestConfigViewSettingsNeedTheirVariables(t *testing.T) {
	t.Setenv("TEST_ORDERS_TOPIC", "")
	os.Unsetenv("TEST_ORDERS_TOPIC")
	cfg := strings.Replace(ordersCfg, "topic: shop.public.orders", `topic: "${TEST_ORDERS_TOPIC}"`, 1)
	got := malformed(t, cfg, "config: projector.yaml\ncases:\n  - { name: x, absent: { order_view: [\"1\"] } }\n")
	if !strings.Contains(got, `environment variable "TEST_ORDERS_TOPIC" is not set`) {
		t.Errorf("error %q, want the unset variable", got)
	}
}
