package config

import (
	"strings"
	"testing"
)

// TestR33eAvroSourceWithoutRegistryIsRefused: a source declared
// `format: avro` can only be read with a schema registry: every Avro
// record names its schema by registry id (README, What it decodes: "Avro
// with a Confluent-compatible schema registry (kafka.schema_registry.url;
// magic byte + schema id; schemas fetched once by id and cached ...)").
// Without kafka.schema_registry.url the configuration validates, and at
// run projector.DecodeRecord answers every record with "schema id N is not
// known ... (no kafka.schema_registry is configured)", an error the engine
// dead-letters and commits past: the whole topic goes to the dead-letter
// topic, record by record, for a mistake `projector validate` could name
// at its key. The README's own stance for a registry that cannot serve a
// schema (an unreachable one, a 404 that is not the registry's) is to stop
// "rather than dead-letter every record". The fix belongs in
// config/validate.go (sources: format avro needs kafka.schema_registry.url).
func TestR33eAvroSourceWithoutRegistryIsRefused(t *testing.T) {
	yaml := `version: 1
kafka: { brokers: "kafka:9093", group: g }
stores: { postgres: { url: "postgres://localhost/shop" } }
sources: { orders: { topic: shop.public.orders, format: avro } }
views: { order_view: { from: orders, fields: { id: id }, sinks: { postgres: {} } } }
`
	_, err := Parse("test.yaml", []byte(yaml), lookupTestEnv)
	if err == nil || !strings.Contains(err.Error(), "schema_registry") {
		t.Fatalf("format: avro without kafka.schema_registry.url: err = %v; want it refused at the source, naming kafka.schema_registry.url", err)
	}
	// With a registry the same source is fine.
	withRegistry := strings.Replace(yaml, "group: g }", "group: g, schema_registry: { url: \"http://registry:8081\" } }", 1)
	if _, err := Parse("test.yaml", []byte(withRegistry), lookupTestEnv); err != nil {
		t.Fatalf("with a registry: %v", err)
	}
}
