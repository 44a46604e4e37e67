package config

import (
	"strings"
	"testing"
)

// offlineYAML has connection settings that only the production
// environment can satisfy: unset variables, files that are not there,
// placeholders that are not URLs.
const offlineYAML = `version: 1
kafka:
  brokers: ${OFFLINE_BROKERS}
  group: ${OFFLINE_GROUP}
  tls:
    ca_cert: ${OFFLINE_CA_CERT}
    cert: /nonexistent/client.pem
    key: /nonexistent/client.key
  sasl: { mechanism: scram-sha-512, username: "${OFFLINE_USER}", password: "${OFFLINE_PASSWORD}" }
  schema_registry:
    url: ${OFFLINE_REGISTRY_URL}
    tls: { enabled: "${OFFLINE_TLS}", ca_cert: /nonexistent/ca.pem }
stores:
  postgres: { url: "${DATABASE_URL:-}" }
  redis: { url: "${OFFLINE_REDIS_URL}" }
  elasticsearch: { url: not-a-url, username: elastic }
admin: { listen: "${OFFLINE_ADMIN}" }
sources:
  orders: { topic: shop.public.orders, format: avro }
views:
  order_view:
    from: orders
    fields: { id: id }
    sinks: { postgres: {}, redis: { key: "order:{id}" } }
`

// TestOfflineSkipsConnectionSettings: offline, the connection settings are
// not checked and their unset variables keep their text, while Load
// reports every one of them.
func TestOfflineSkipsConnectionSettings(t *testing.T) {
	c, err := ParseDraftWith("p.yaml", []byte(offlineYAML), lookupTestEnv, Options{Offline: true})
	if err != nil {
		t.Fatalf("offline: %v", err)
	}
	if got := c.Kafka.SchemaRegistry.URL; got != "${OFFLINE_REGISTRY_URL}" {
		t.Errorf("schema registry url = %q, want the reference's text", got)
	}
	if got := c.Stores.Redis.URL; got != "${OFFLINE_REDIS_URL}" {
		t.Errorf("redis url = %q, want the reference's text", got)
	}
	if tls := c.Kafka.SchemaRegistry.TLS; tls == nil || tls.Enabled {
		t.Errorf("schema registry tls enabled by an unset variable: %+v, want written and off", tls)
	}
	_, err = Parse("p.yaml", []byte(offlineYAML), lookupTestEnv)
	if err == nil {
		t.Fatal("Parse accepted the connection settings")
	}
	for _, want := range []string{
		`"OFFLINE_BROKERS" is not set`, `"OFFLINE_CA_CERT" is not set`, "client.pem", `"OFFLINE_TLS" is not set`,
		"stores.postgres.url is required", `"OFFLINE_REDIS_URL" is not set`, "stores.elasticsearch.url",
		"username and password go together", `"OFFLINE_ADMIN" is not set`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Parse's errors lack %q:\n%v", want, err)
		}
	}
}

// TestOfflineChecksTheRest: offline, what the engine uses is still checked,
// an unset variable there included.
func TestOfflineChecksTheRest(t *testing.T) {
	yaml := strings.NewReplacer(
		"topic: shop.public.orders", `topic: "${OFFLINE_TOPIC}"`,
		"admin:", "kafka_extra: 1\nadmin:",
	).Replace(offlineYAML) + "state: { tombstone_retention: 1m }\n"
	_, err := ParseDraftWith("p.yaml", []byte(yaml), lookupTestEnv, Options{Offline: true})
	if err == nil {
		t.Fatal("offline accepted an unset topic, an unknown key and a bad retention")
	}
	for _, want := range []string{`"OFFLINE_TOPIC" is not set`, "kafka_extra", "tombstone_retention"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "OFFLINE_BROKERS") {
		t.Errorf("a connection setting is reported offline:\n%v", err)
	}
}

// TestOfflineBatchSize: kafka.batch_size sizes the engine's batches: it
// is checked offline too.
func TestOfflineBatchSize(t *testing.T) {
	yaml := strings.Replace(offlineYAML, "  group:", "  batch_size: ${OFFLINE_BATCH}\n  group:", 1)
	_, err := ParseDraftWith("p.yaml", []byte(yaml), lookupTestEnv, Options{Offline: true})
	if err == nil || !strings.Contains(err.Error(), `"OFFLINE_BATCH" is not set`) {
		t.Errorf("err = %v, want the unset batch size", err)
	}
}

// TestOfflineBatchBytes: kafka.batch_bytes only bounds what the consumer
// takes from a poll; offline, where nothing is polled, it is not checked,
// while Load reports it.
func TestOfflineBatchBytes(t *testing.T) {
	yaml := strings.Replace(offlineYAML, "  group:", "  batch_bytes: ${OFFLINE_BATCH_BYTES}\n  group:", 1)
	if _, err := ParseDraftWith("p.yaml", []byte(yaml), lookupTestEnv, Options{Offline: true}); err != nil {
		t.Errorf("offline: %v", err)
	}
	_, err := Parse("p.yaml", []byte(yaml), lookupTestEnv)
	if err == nil || !strings.Contains(err.Error(), `"OFFLINE_BATCH_BYTES" is not set`) {
		t.Errorf("err = %v, want the unset batch bytes", err)
	}
}

// TestUnsetConnectionsChecksTheRest: with UnsetConnections (validate
// --offline) a connection setting whose variable is not set is neither an
// error nor checked, and is told apart (Unset); every other setting is
// checked as Load does, connection settings that are set (a file that is
// not there, a URL that is not one) and unset variables elsewhere included.
func TestUnsetConnectionsChecksTheRest(t *testing.T) {
	c, err := ParseDraftWith("p.yaml", []byte(offlineYAML), lookupTestEnv, Options{UnsetConnections: true})
	if err == nil {
		t.Fatal("the settings that are set but wrong passed")
	}
	for _, want := range []string{"client.pem", "stores.elasticsearch.url"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
	for _, unwanted := range []string{"OFFLINE_BROKERS", "OFFLINE_REDIS_URL", "OFFLINE_GROUP", "OFFLINE_REGISTRY_URL", "dead_letter_topic"} {
		if strings.Contains(err.Error(), unwanted) {
			t.Errorf("errors mention %s, whose variable is not set:\n%v", unwanted, err)
		}
	}
	if !c.Unset(&c.Stores.Redis.URL) || c.Stores.Redis.URL != "${OFFLINE_REDIS_URL}" || c.Unset(&c.Stores.Elasticsearch.URL) {
		t.Errorf("redis url %q unset %v, elasticsearch unset %v: want the reference's text, unset, and a written value not", c.Stores.Redis.URL, c.Unset(&c.Stores.Redis.URL), c.Unset(&c.Stores.Elasticsearch.URL))
	}
	_, err = ParseDraftWith("p.yaml", []byte(strings.Replace(offlineYAML, "version: 1", "version: 1\nlog: { level: \"${OFFLINE_LEVEL}\" }", 1)), lookupTestEnv, Options{UnsetConnections: true})
	if err == nil || !strings.Contains(err.Error(), `"OFFLINE_LEVEL" is not set`) {
		t.Errorf("an unset variable outside the connection settings: %v, want it reported", err)
	}
}
