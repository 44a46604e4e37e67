package rebuild

import (
	"context"
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kgo"
)

// r23aItemsAvroYAML is an items view whose topic carries Avro (Confluent
// framing), decoded with schemas from kafka.schema_registry.
const r23aItemsAvroYAML = `
version: 1
kafka: { brokers: "${BROKERS}", group: items, schema_registry: { url: "${REGISTRY}" } }
stores:
  postgres: { url: "${PG}" }
sources:
  items:
    topic: shop.public.items
    format: avro
    key: id
    columns: { id: bigint, name: text, qty: bigint }
views:
  item_view:
    from: items
    fields: { id: id, name: name, qty: qty }
    sinks:
      postgres: { table: item_view }
`

const r23aItemValue = `{"type": "record", "name": "Envelope", "namespace": "shop.public.items",
  "fields": [
    {"name": "before", "type": ["null", {"type": "record", "name": "Value", "fields": [
      {"name": "id", "type": "long"},
      {"name": "name", "type": ["null", "string"], "default": null},
      {"name": "qty", "type": ["null", "long"], "default": null}]}], "default": null},
    {"name": "after", "type": ["null", "Value"], "default": null},
    {"name": "source", "type": {"type": "record", "name": "Source", "namespace": "io.debezium.connector.postgresql", "fields": [
      {"name": "connector", "type": "string"}, {"name": "name", "type": "string"},
      {"name": "snapshot", "type": ["string", "null"], "default": "false"},
      {"name": "db", "type": "string"}, {"name": "schema", "type": "string"}, {"name": "table", "type": "string"},
      {"name": "txId", "type": ["null", "long"]}, {"name": "lsn", "type": ["null", "long"]}, {"name": "ts_ms", "type": "long"}]}},
    {"name": "op", "type": "string"},
    {"name": "ts_ms", "type": ["null", "long"], "default": null}]}`

const r23aItemKey = `{"type": "record", "name": "Key", "namespace": "shop.public.items", "fields": [{"name": "id", "type": "long"}]}`

func r23aAvroFrame(t *testing.T, id int, schema string, v any) []byte {
	t.Helper()
	s, err := avro.Parse(schema)
	if err != nil {
		t.Fatal(err)
	}
	body, err := avro.Marshal(s, v)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 5, 5+len(body))
	binary.BigEndian.PutUint32(out[1:], uint32(id))
	return append(out, body...)
}

// TestR23aRebuildFromKafkaDecodesAvro: rebuild --from kafka replays the
// view's topics into the state "as the daemons do" (replay.go); a daemon
// decodes Avro records with the schemas of kafka.schema_registry, and so
// must the replay, or every Avro record is dropped as a dead letter and the
// rebuilt generation misses their rows.
func TestR23aRebuildFromKafkaDecodesAvro(t *testing.T) {
	var asked atomic.Int64
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		var schema string
		switch r.URL.Path {
		case "/schemas/ids/7":
			schema = r23aItemValue
		case "/schemas/ids/8":
			schema = r23aItemKey
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error_code":40403,"message":"Schema not found"}`))
			return
		}
		_, _ = w.Write([]byte(`{"schema":` + strconv.Quote(schema) + `}`))
	}))
	defer reg.Close()
	kc := itemsCluster(t, 1)
	yaml := strings.ReplaceAll(r23aItemsAvroYAML, "${REGISTRY}", reg.URL)
	f := newFixtureYAML(t, yaml, strings.Join(kc.ListenAddrs(), ","), "")
	f.startDaemon() // deploys the view, as `projector run` does

	producer, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	var recs []*kgo.Record
	for id := int64(1); id <= 3; id++ {
		value := r23aAvroFrame(t, 7, r23aItemValue, map[string]any{
			"before": nil,
			"after": map[string]any{"shop.public.items.Value": map[string]any{
				"id": id, "name": map[string]any{"string": "item-" + strconv.FormatInt(id, 10)}, "qty": map[string]any{"long": id}}},
			"source": map[string]any{"connector": "postgresql", "name": "shop", "snapshot": map[string]any{"string": "false"}, "db": "shop",
				"schema": "public", "table": "items", "txId": nil, "lsn": map[string]any{"long": 1000 + 8*id}, "ts_ms": int64(1)},
			"op": "c", "ts_ms": nil,
		})
		key := r23aAvroFrame(t, 8, r23aItemKey, map[string]any{"id": id})
		recs = append(recs, &kgo.Record{Topic: "shop.public.items", Key: key, Value: value})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := producer.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	env := f.openEnv()
	res, err := Run(ctx, env, Options{View: "item_view", From: "kafka", Keep: 0, ReplayIdle: 2 * time.Second})
	if err != nil {
		t.Fatalf("rebuild --from kafka: %v", err)
	}
	if res.Replayed != 3 || res.DeadLetters != 0 {
		t.Errorf("rebuild --from kafka replayed %d Avro records, %d of them dead letters (schema registry asked %d times), want 3 and 0",
			res.Replayed, res.DeadLetters, asked.Load())
	}
	rows, err := f.readerRows(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Errorf("item_view holds %d documents after rebuild --from kafka, want the 3 replayed: %v", len(rows), rows)
	}
}
