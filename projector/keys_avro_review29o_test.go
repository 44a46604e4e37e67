package projector_test

import (
	"context"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// TestR29oKeysOfAvroDeadLetterWithUnseenKeySchema: README (--from signal):
// "Rows of the state that no record of the snapshot carried (one that is a
// dead letter carries its row all the same) ... are deleted". An Avro
// snapshot record whose value is a dead letter (its value schema id is
// unknown to the registry, 40403) has an Avro key whose schema the
// registry does hold. Keys must name its row; it names none because the
// key's schema was never fetched (the dead letter's key is decoded without
// the registry), so the rebuild deletes a row the source still has.
func TestR29oKeysOfAvroDeadLetterWithUnseenKeySchema(t *testing.T) {
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
	reg := &registry{schemas: map[int]string{8: avroWidgetKey}} // value id 99: not in the registry
	eng := newEngine(t, pool, plan, &memSink{docs: map[string]sinks.Doc{}}, reg)
	key := avroFrame(t, 8, avroWidgetKey, map[string]any{"id": "w1"})
	value := avroFrame(t, 99, avroWidgetKey, map[string]any{"id": "w1"})
	recs := []projector.Record{{Topic: "cqrs.public.widgets", Offset: 1, Key: key, Value: value}}
	keys, err := eng.Keys(context.Background(), recs)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range keys["widgets"] {
		got = append(got, r.Key)
	}
	if len(got) != 1 || got[0] != "w1" {
		t.Errorf("Keys = %q, want [w1]: the dead letter's row named by its Avro key", got)
	}
}
