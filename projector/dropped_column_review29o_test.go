package projector_test

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/hamba/avro/v2"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// R29oNotesEnvelope builds a widgets envelope with the row columns given:
// v1 (id, name, notes, active), then v2, the same table after ALTER TABLE
// widgets DROP COLUMN name (registered under a new schema id).
func R29oNotesEnvelope(cols string) string {
	return `{"type": "record", "name": "Envelope", "namespace": "cqrs.public.widgets",
  "fields": [
    {"name": "before", "type": ["null", {"type": "record", "name": "Value", "fields": [` + cols + `]}], "default": null},
    {"name": "after", "type": ["null", "Value"], "default": null},
    {"name": "source", "type": {"type": "record", "name": "Source", "namespace": "io.debezium.connector.postgresql", "fields": [
      {"name": "connector", "type": "string"}, {"name": "name", "type": "string"},
      {"name": "snapshot", "type": ["string", "null"], "default": "false"},
      {"name": "db", "type": "string"}, {"name": "schema", "type": "string"}, {"name": "table", "type": "string"},
      {"name": "txId", "type": ["null", "long"]}, {"name": "lsn", "type": ["null", "long"]}, {"name": "ts_ms", "type": "long"}]}},
    {"name": "op", "type": "string"},
    {"name": "ts_ms", "type": ["null", "long"], "default": null}]}`
}

// TestR29oDroppedColumnSurvivesToastMerge: after a source column is
// dropped (a new Avro schema without it), the rows' next changes no longer
// carry it, and a view reading it shows null for them (what a plain join
// over the source rows gives, DESIGN's oracle). But a change that also
// carries an unchanged TOASTed column (README: "a column carrying
// __debezium_unavailable_value keeps its stored value") is merged into the
// stored row keeping every stored column the change lacks: the dropped
// column's old value is served on, for those rows only.
func TestR29oDroppedColumnSurvivesToastMerge(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, `
version: 1
kafka: { brokers: "localhost:9092", group: g, schema_registry: { url: "http://127.0.0.1:1" } }
stores: { postgres: { url: "postgres://unused" } }
sources:
  widgets: { topic: cqrs.public.widgets, format: avro, key: id, columns: { id: text, name: text, notes: text, active: boolean } }
views:
  widget_view:
    from: widgets
    fields: { id: id, title: name, notes: notes, active: active }
    sinks: { postgres: {} }
`, nil)
	v1 := R29oNotesEnvelope(`{"name": "id", "type": "string"},
      {"name": "name", "type": ["null", "string"], "default": null},
      {"name": "notes", "type": ["null", "string"], "default": null},
      {"name": "active", "type": ["null", "boolean"], "default": null}`)
	v2 := R29oNotesEnvelope(`{"name": "id", "type": "string"},
      {"name": "notes", "type": ["null", "string"], "default": null},
      {"name": "active", "type": ["null", "boolean"], "default": null}`)
	reg := &registry{schemas: map[int]string{1: v1, 2: v2, 8: avroWidgetKey}}
	mem := &memSink{docs: map[string]sinks.Doc{}}
	eng := newEngine(t, pool, plan, mem, reg)

	key := func(id string) []byte { return avroFrame(t, 8, avroWidgetKey, map[string]any{"id": id}) }
	src := func(lsn int64) map[string]any {
		return map[string]any{"connector": "postgresql", "name": "cqrs", "snapshot": map[string]any{"string": "false"}, "db": "d",
			"schema": "public", "table": "widgets", "txId": nil, "lsn": map[string]any{"long": lsn}, "ts_ms": int64(1)}
	}
	long := strings.Repeat("n", 100)
	recs := []projector.Record{
		// Before the drop: both rows have a name.
		{Topic: "cqrs.public.widgets", Offset: 0, Key: key("w1"), Value: R29oFrame(t, 1, v1, map[string]any{
			"before": nil, "after": map[string]any{"cqrs.public.widgets.Value": map[string]any{
				"id": "w1", "name": map[string]any{"string": "old"}, "notes": map[string]any{"string": long}, "active": map[string]any{"boolean": true}}},
			"source": src(100), "op": "c", "ts_ms": nil})},
		{Topic: "cqrs.public.widgets", Offset: 1, Key: key("w2"), Value: R29oFrame(t, 1, v1, map[string]any{
			"before": nil, "after": map[string]any{"cqrs.public.widgets.Value": map[string]any{
				"id": "w2", "name": map[string]any{"string": "old"}, "notes": map[string]any{"string": long}, "active": map[string]any{"boolean": true}}},
			"source": src(101), "op": "c", "ts_ms": nil})},
	}
	if dead, err := eng.Process(context.Background(), recs); err != nil || len(dead) > 0 {
		t.Fatalf("dead %v, err %v", dead, err)
	}
	// After DROP COLUMN name: w1's update leaves its TOASTed notes
	// unchanged, w2's carries notes.
	recs = []projector.Record{
		{Topic: "cqrs.public.widgets", Offset: 2, Key: key("w1"), Value: R29oFrame(t, 2, v2, map[string]any{
			"before": nil, "after": map[string]any{"cqrs.public.widgets.Value": map[string]any{
				"id": "w1", "notes": map[string]any{"string": "__debezium_unavailable_value"}, "active": map[string]any{"boolean": false}}},
			"source": src(200), "op": "u", "ts_ms": nil})},
		{Topic: "cqrs.public.widgets", Offset: 3, Key: key("w2"), Value: R29oFrame(t, 2, v2, map[string]any{
			"before": nil, "after": map[string]any{"cqrs.public.widgets.Value": map[string]any{
				"id": "w2", "notes": map[string]any{"string": long}, "active": map[string]any{"boolean": false}}},
			"source": src(201), "op": "u", "ts_ms": nil})},
	}
	if dead, err := eng.Process(context.Background(), recs); err != nil || len(dead) > 0 {
		t.Fatalf("dead %v, err %v", dead, err)
	}
	for _, id := range []string{"w1", "w2"} {
		d := mem.docs[id]
		if d.Fields["active"] != false || d.Fields["notes"] != long {
			t.Fatalf("doc %s = %+v: the update was not applied", id, d.Fields)
		}
		if d.Fields["title"] != nil {
			t.Errorf("doc %s: title = %#v after the source dropped the column, want null (as for every row whose change no longer carries it)", id, d.Fields["title"])
		}
	}
}

// R29oFrame is avroFrame with a private schema cache: schema versions
// share the names of their records.
func R29oFrame(t *testing.T, id int, schema string, v any) []byte {
	t.Helper()
	s, err := avro.ParseWithCache(schema, "", &avro.SchemaCache{})
	if err != nil {
		t.Fatal(err)
	}
	body, err := avro.Config{}.Freeze().Marshal(s, v) // its own encoder cache too
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 5, 5+len(body))
	binary.BigEndian.PutUint32(out[1:], uint32(id))
	return append(out, body...)
}
