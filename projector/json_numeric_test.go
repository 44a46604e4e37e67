package projector_test

import (
	"context"
	"testing"
	"time"

	"github.com/projectorhq/projector/projector"
)

const jsonNumbersYAML = `
version: 1
kafka: { brokers: "localhost:9092", group: json_numbers }
stores:
  postgres: { url: "${PG}" }
sources:
  docs:
    topic: cqrs.public.docs
    key: id
    columns: { id: text, body: jsonb, x: text }
views:
  json_num_view:
    from: docs
    fields: { id: id, body: body, x: x }
    sinks:
      postgres: { table: json_num_view }
`

// TestJSONNumberBeyondNumeric: a json column may hold a number jsonb cannot
// ({"a": 1e999999}: PostgreSQL's numeric keeps 131072 digits before the
// point, 16383 after). It decoded, and the state refused the whole batch on
// every retry: every record behind it waited. It is a dead letter naming
// the column, and the record behind it is written.
func TestJSONNumberBeyondNumeric(t *testing.T) {
	for name, bad := range map[string]string{
		"Json string": `{"schema":{"type":"struct","fields":[
		  {"field":"after","type":"struct","optional":true,"fields":[{"field":"id","type":"string"},
		    {"field":"body","type":"string","optional":true,"name":"io.debezium.data.Json"}]},
		  {"field":"op","type":"string"},
		  {"field":"source","type":"struct","fields":[{"field":"connector","type":"string"},{"field":"lsn","type":"int64"}]}]},
		  "payload":{"op":"c","source":{"connector":"postgresql","lsn":10},"after":{"id":"d1","body":"{\"a\":1e999999}"}}}`,
		"schemaless jsonb": `{"op":"c","source":{"connector":"postgresql","lsn":10},"after":{"id":"d1","body":{"a":[1,2e-16384]}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			st, pool := badRecordEngine(t, jsonNumbersYAML)
			good := `{"op":"c","source":{"connector":"postgresql","lsn":11},"after":{"id":"d2","x":"fine","body":{"a":1e131071}}}`
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			dead, err := st.Engine.Process(ctx, []projector.Record{
				{Topic: "cqrs.public.docs", Offset: 0, Key: []byte(`{"id":"d1"}`), Value: []byte(bad)},
				{Topic: "cqrs.public.docs", Offset: 1, Key: []byte(`{"id":"d2"}`), Value: []byte(good)},
			})
			if err != nil {
				t.Fatalf("the batch failed: %.300v", err)
			}
			if len(dead) != 1 || dead[0].Record.Offset != 0 {
				t.Fatalf("dead letters %v, want the record at offset 0", dead)
			}
			var ids []string
			rows, err := pool.Query(ctx, `SELECT id FROM json_num_view`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			if len(ids) != 1 || ids[0] != "d2" {
				t.Errorf("view rows %v, want [d2]", ids)
			}
		})
	}
}
