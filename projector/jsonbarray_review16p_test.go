package projector_test

import (
	"context"
	"testing"
	"time"

	"github.com/projectorhq/projector/projector"
)

const r16pJSONBArrayYAML = `
version: 1
kafka: { brokers: "localhost:9092", group: r16p_jsonb_array }
stores:
  postgres: { url: "${PG}" }
sources:
  docs:
    topic: cqrs.public.docs
    key: id
    columns: { id: text, parts: "jsonb[]" }
views:
  r16p_parts_view:
    from: docs
    fields: { id: id, parts: parts }
    sinks:
      postgres: { table: r16p_parts_view }
`

// TestR16pJSONBArrayColumnOfArraysReachesPostgres: a source jsonb[] column
// holding ARRAY['[1,2]'::jsonb, '[3]'::jsonb] (Debezium: an array of Json
// strings) is a legal value of a supported type. Its document must reach
// the PostgreSQL view with the two elements; the sink refuses it
// ("malformed JSON array"), so the view never holds the document.
func TestR16pJSONBArrayColumnOfArraysReachesPostgres(t *testing.T) {
	st, pool := badRecordEngine(t, r16pJSONBArrayYAML)
	value := `{"schema":{"type":"struct","fields":[
	  {"field":"after","type":"struct","optional":true,"fields":[{"field":"id","type":"string"},
	    {"field":"parts","type":"array","optional":true,"items":{"type":"string","optional":true,"name":"io.debezium.data.Json"}}]},
	  {"field":"op","type":"string"},
	  {"field":"source","type":"struct","fields":[{"field":"connector","type":"string"},{"field":"lsn","type":"int64"}]}]},
	  "payload":{"op":"c","source":{"connector":"postgresql","lsn":10},"after":{"id":"d1","parts":["[1,2]","[3]"]}}}`
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := st.Engine.Prepare(ctx, []projector.Record{
		{Topic: "cqrs.public.docs", Offset: 0, Key: []byte(`{"id":"d1"}`), Value: []byte(value)},
	})
	if err != nil {
		t.Fatalf("the batch failed: %.300v", err)
	}
	if err := st.Engine.Complete(ctx, b); err != nil {
		t.Fatalf("the batch failed: %.300v", err)
	}
	for _, d := range b.Dead {
		t.Errorf("dead letter: %.300v", d)
	}
	for _, r := range b.Refused {
		t.Errorf("refused by %s: %.300v", r.Sink, r.Err)
	}
	var got string
	if err := pool.QueryRow(ctx, `SELECT coalesce((SELECT parts::text FROM r16p_parts_view WHERE id = 'd1'), '<no row>')`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if want := `{"[1, 2]",[3]}`; got != want { // PostgreSQL's text of ARRAY['[1,2]'::jsonb, '[3]']
		t.Errorf("r16p_parts_view.parts = %s, want %s", got, want)
	}
}
