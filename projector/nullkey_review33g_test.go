package projector_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/testenv"
)

// r33gTagsYAML: widgets with their tags, a child source that declares no
// `key:` ("key columns; default: the record key's fields", config/doc.go).
const r33gTagsYAML = `
version: 1
kafka: { brokers: "${BROKERS}", group: widgets }
stores:
  postgres: { url: "${PG}" }
sources:
  widgets:
    topic: cqrs.public.widgets
    key: id
    columns: { id: text, name: text, active: boolean }
  tags:
    topic: cqrs.public.tags
    columns: { widget_id: text, tag: text }
views:
  widget_view:
    from: widgets
    fields:
      id: id
      title: name
      tags:
        many: tags
        on: { widget_id: id }
        fields: { tag: tag }
    sinks:
      postgres: { table: widget_view }
`

// TestR33gNullKeyRowsOfKeylessSourceCollapse: Debezium writes a null
// Kafka key for the rows of a table without a primary key. A source that
// declares no `key:` takes its key columns from the record key, so such a
// record has none: toRowChange (decode.go) gives every one of them the same
// state key, docID of no values, "[]". Two different tag rows then
// overwrite each other in the state: the first is gone from the view, with
// no dead letter, no error and no count of it; the offsets are committed
// past it.
//
// README (standard): "Bad input gets a clear error and loses nothing:
// malformed messages go to a dead-letter topic with the reason"; README,
// Dead letters: "A record that cannot be decoded or projected goes to the
// dead-letter topic". A record that names no row cannot be projected: it
// must be a dead letter saying so (or the configuration refused), never
// merged into another row.
func TestR33gNullKeyRowsOfKeylessSourceCollapse(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	kc := newCluster(t, 1, "cqrs.public.widgets", "cqrs.public.tags")
	cfg, plan := loadPlan(t, r33gTagsYAML, env("BROKERS", brokers(kc), "PG", pgURL))
	m := startMember(t, cfg, plan, 100)
	tag := func(name string, lsn int) *kgo.Record {
		return &kgo.Record{Topic: "cqrs.public.tags", Key: nil, Value: sample(t, "postgres/create_schemaless.value.json", func(m map[string]any) {
			m["after"] = map[string]any{"widget_id": "w1", "tag": name}
			src := m["source"].(map[string]any)
			src["table"], src["lsn"] = "tags", lsn
		})}
	}
	kc.produce(t,
		widgetRecord("w1", sample(t, "postgres/create_schemaless.value.json", nil)),
		tag("red", 314477600),
		tag("blue", 314477700),
	)
	kc.waitCaughtUp(t, "widgets", m.done)

	var raw []byte
	if err := pool.QueryRow(context.Background(), `SELECT tags::text FROM widget_view WHERE id = 'w1'`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var tags []map[string]any
	if err := json.Unmarshal(raw, &tags); err != nil {
		t.Fatalf("tags %s: %v", raw, err)
	}
	ends, err := kc.adm.ListEndOffsets(context.Background(), "widgets.dlq")
	if err != nil {
		t.Fatal(err)
	}
	var dead int64
	if o, ok := ends.Lookup("widgets.dlq", 0); ok && o.Err == nil {
		dead = o.Offset
	}
	// Each of the two tag records is either in the view or a dead letter.
	if int64(len(tags))+dead != 2 {
		t.Errorf("view holds tags %s and the dead-letter topic %d records: of the two tag rows with a null Kafka key, %d is neither projected nor dead-lettered (both became state row \"[]\")",
			raw, dead, 2-int64(len(tags))-dead)
	}
	m.drain(t)
}
