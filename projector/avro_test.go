package projector_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"

	"github.com/hamba/avro/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

const avroWidgetValue = `{"type": "record", "name": "Envelope", "namespace": "cqrs.public.widgets",
  "fields": [
    {"name": "before", "type": ["null", {"type": "record", "name": "Value", "fields": [
      {"name": "id", "type": "string"},
      {"name": "name", "type": ["null", "string"], "default": null},
      {"name": "active", "type": ["null", "boolean"], "default": null}]}], "default": null},
    {"name": "after", "type": ["null", "Value"], "default": null},
    {"name": "source", "type": {"type": "record", "name": "Source", "namespace": "io.debezium.connector.postgresql", "fields": [
      {"name": "connector", "type": "string"}, {"name": "name", "type": "string"},
      {"name": "snapshot", "type": ["string", "null"], "default": "false"},
      {"name": "db", "type": "string"}, {"name": "schema", "type": "string"}, {"name": "table", "type": "string"},
      {"name": "txId", "type": ["null", "long"]}, {"name": "lsn", "type": ["null", "long"]}, {"name": "ts_ms", "type": "long"}]}},
    {"name": "op", "type": "string"},
    {"name": "ts_ms", "type": ["null", "long"], "default": null}]}`

const avroWidgetKey = `{"type": "record", "name": "Key", "namespace": "cqrs.public.widgets", "fields": [{"name": "id", "type": "string"}]}`

// registry is an in-memory schema registry that counts lookups.
type registry struct {
	mu      sync.Mutex
	schemas map[int]string
	calls   int
}

func (r *registry) SchemaByID(_ context.Context, id int) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	s, ok := r.schemas[id]
	if !ok {
		return "", fmt.Errorf("id %d: %w", id, projector.ErrSchemaNotFound)
	}
	return s, nil
}

func avroFrame(t *testing.T, id int, schema string, v any) []byte {
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

// memSink is a sink that remembers the last doc per id (it stands in for
// the stores here; the stores have their own suites).
type memSink struct {
	mu   sync.Mutex
	docs map[string]sinks.Doc
}

func (m *memSink) Name() string { return "mem" }
func (m *memSink) Write(_ context.Context, docs []sinks.Doc) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range docs {
		if old, ok := m.docs[d.ID]; !ok || old.Rev < d.Rev {
			m.docs[d.ID] = d
		}
	}
	return nil
}

// TestAvroWithRegistry: Avro records (Confluent framing) are decoded with
// schemas fetched once from the registry; an unknown schema id is a bad
// record (dead letter), not a stall.
func TestAvroWithRegistry(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, `
version: 1
kafka: { brokers: "localhost:9092", group: g, schema_registry: { url: "http://127.0.0.1:1" } }
stores: { postgres: { url: "postgres://unused" } }
sources:
  widgets: { topic: cqrs.public.widgets, format: avro, key: id, columns: { id: text, name: text, active: boolean } }
views:
  widget_view:
    from: widgets
    fields: { id: id, title: name, active: active }
    sinks: { postgres: {} }
`, nil)
	reg := &registry{schemas: map[int]string{7: avroWidgetValue, 8: avroWidgetKey}}
	mem := &memSink{docs: map[string]sinks.Doc{}}
	eng := newEngine(t, pool, plan, mem, reg)

	name := "gadget"
	active := true
	lsn := int64(100)
	value := func(id string) []byte {
		lsn++
		return avroFrame(t, 7, avroWidgetValue, map[string]any{
			"before": nil,
			// Unions are written as {"type name": value}, as hamba/avro wants them.
			"after": map[string]any{"cqrs.public.widgets.Value": map[string]any{
				"id": id, "name": map[string]any{"string": name}, "active": map[string]any{"boolean": active}}},
			"source": map[string]any{"connector": "postgresql", "name": "cqrs", "snapshot": map[string]any{"string": "false"}, "db": "d",
				"schema": "public", "table": "widgets", "txId": nil, "lsn": map[string]any{"long": lsn}, "ts_ms": int64(1)},
			"op": "c", "ts_ms": nil,
		})
	}
	key := func(id string) []byte { return avroFrame(t, 8, avroWidgetKey, map[string]any{"id": id}) }
	var recs []projector.Record
	for i, id := range []string{"w1", "w2", "w3"} {
		recs = append(recs, projector.Record{Topic: "cqrs.public.widgets", Offset: int64(i), Key: key(id), Value: value(id)})
	}
	bad := avroFrame(t, 99, avroWidgetKey, map[string]any{"id": "w4"})
	recs = append(recs, projector.Record{Topic: "cqrs.public.widgets", Offset: 3, Key: key("w4"), Value: bad})

	dead, err := eng.Process(context.Background(), recs)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].Record.Offset != 3 {
		t.Fatalf("dead letters %v: want the record with the unknown schema id", dead)
	}
	for _, id := range []string{"w1", "w2", "w3"} {
		d, ok := mem.docs[id]
		if !ok || d.Fields["title"] != "gadget" || d.Fields["active"] != true {
			t.Errorf("doc %s = %+v", id, d)
		}
	}
	if reg.calls != 3 { // value schema, key schema, the unknown one
		t.Errorf("registry asked %d times, want 3 (each schema once)", reg.calls)
	}
}

// newEngine builds an engine on a fresh state writing to one sink for
// every view.
func newEngine(t *testing.T, pool *pgxpool.Pool, plan *projections.Plan, s projector.Sink, reg projector.SchemaRegistry) *projector.Engine {
	t.Helper()
	var views []string
	for _, v := range plan.Views {
		views = append(views, v.Name)
	}
	eng, err := projector.New(projector.Options{Plan: plan, Pool: pool, Sinks: []projector.Route{{Sink: s, Views: views}}, Schemas: reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return eng
}
