package projector_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// downForKeys is a schema registry that holds no value schema and does not
// answer for the key schema.
type downForKeys struct{ key int }

var errDown = errors.New("connection refused")

func (r downForKeys) SchemaByID(_ context.Context, id int) (string, error) {
	if id == r.key {
		return "", errDown
	}
	return "", fmt.Errorf("id %d: %w", id, projector.ErrSchemaNotFound)
}

// TestKeysOfDeadLetterWhileRegistryDown: when the registry does not answer
// for a dead letter's key schema, Keys cannot tell the row; it fails (its
// caller retries) rather than leave the row out, which would delete it.
func TestKeysOfDeadLetterWhileRegistryDown(t *testing.T) {
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
	eng := newEngine(t, pool, plan, &memSink{docs: map[string]sinks.Doc{}}, downForKeys{key: 8})
	key := avroFrame(t, 8, avroWidgetKey, map[string]any{"id": "w1"})
	value := avroFrame(t, 99, avroWidgetKey, map[string]any{"id": "w1"})
	recs := []projector.Record{{Topic: "cqrs.public.widgets", Offset: 1, Key: key, Value: value}}
	keys, err := eng.Keys(context.Background(), recs)
	if !errors.Is(err, errDown) {
		t.Errorf("Keys = %v, %v; want the registry's error", keys, err)
	}
}
