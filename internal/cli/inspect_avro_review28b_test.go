package cli

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

const r28bEnvelope = `{"type":"record","name":"Envelope","namespace":"cqrs.public.widgets","connect.name":"cqrs.public.widgets.Envelope","fields":[
 {"name":"before","type":["null",{"type":"record","name":"Value","fields":[{"name":"id","type":"string"},{"name":"name","type":["null","string"],"default":null}]}],"default":null},
 {"name":"after","type":["null","Value"],"default":null},
 {"name":"source","type":{"type":"record","name":"Source","namespace":"io.debezium.connector.postgresql","fields":[
   {"name":"connector","type":"string"},{"name":"name","type":"string"},{"name":"db","type":"string"},
   {"name":"schema","type":"string"},{"name":"table","type":"string"},{"name":"lsn","type":["null","long"],"default":null},{"name":"ts_ms","type":"long"}]}},
 {"name":"op","type":"string"},
 {"name":"ts_ms","type":["null","long"],"default":null}]}`

const r28bKey = `{"type":"record","name":"Key","namespace":"cqrs.public.widgets","fields":[{"name":"id","type":"string"}]}`

func r28bFrame(t *testing.T, id int, schema string, v any) []byte {
	t.Helper()
	s, err := avro.ParseWithCache(schema, "", &avro.SchemaCache{})
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

// TestR28bInspectAvroTopicUsesTheRegistry: inspect --topic with -c reads
// the configuration's kafka settings, kafka.schema_registry included, yet
// decodes without ever asking the registry, so every Avro record (what an
// AvroConverter deployment holds) fails with "avro schema id N is not
// known to the decoder" instead of being printed.
func TestR28bInspectAvroTopicUsesTheRegistry(t *testing.T) {
	schemas := map[string]string{"/schemas/ids/1": r28bEnvelope, "/schemas/ids/2": r28bKey}
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		s, ok := schemas[r.URL.Path]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error_code":40403,"message":"Schema not found"}`))
			return
		}
		b, _ := json.Marshal(map[string]string{"schema": s})
		_, _ = w.Write(b)
	}))
	defer reg.Close()

	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "cqrs.public.widgets"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	value := r28bFrame(t, 1, r28bEnvelope, map[string]any{
		"before": nil,
		"after":  map[string]any{"cqrs.public.widgets.Value": map[string]any{"id": "w1", "name": map[string]any{"string": "gadget"}}},
		"source": map[string]any{"connector": "postgresql", "name": "cqrs", "db": "d", "schema": "public", "table": "widgets",
			"lsn": map[string]any{"long": int64(100)}, "ts_ms": int64(1)},
		"op": "c", "ts_ms": nil,
	})
	key := r28bFrame(t, 2, r28bKey, map[string]any{"id": "w1"})
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "cqrs.public.widgets", Key: key, Value: value}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PROJECTOR_POSTGRES_URL", "postgres://localhost/x")
	file := writeConfig(t, fmt.Sprintf(`version: 1
kafka:
  brokers: %q
  group: g
  schema_registry: { url: %q }
stores: { postgres: { url: "${PROJECTOR_POSTGRES_URL}" } }
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
`, strings.Join(c.ListenAddrs(), ","), reg.URL))

	code, out, errs := run(t, "inspect", "-c", file, "--topic", "cqrs.public.widgets", "--offset", "0")
	if code != ExitOK {
		t.Fatalf("inspect of an Avro record with kafka.schema_registry configured: exit %d: %s", code, errs)
	}
	var got struct {
		Op    string         `json:"op"`
		Key   map[string]any `json:"key"`
		After map[string]any `json:"after"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Op != "c" || got.Key["id"] != "w1" || got.After["name"] != "gadget" {
		t.Errorf("inspect = %s; want the create of w1", out)
	}
}
