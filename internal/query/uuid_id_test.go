package query_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestGetUUIDInAnyCase: the engine writes a UUID id in lower case, as
// Debezium prints it; a reader asking with capitals finds the doc in
// Redis as it does in PostgreSQL.
func TestGetUUIDInAnyCase(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	yaml := fmt.Sprintf(`
version: 1
kafka: { brokers: "localhost:1", group: lite }
stores:
  postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }
sources:
  things:
    topic: app.public.things
    key: id
    columns: { id: uuid, name: text }
views:
  things:
    from: things
    fields: { id: id, name: name }
    sinks:
      redis: { key: "%sthing:{id}" }
`, prefix)
	l := newLite(t, yaml)
	const id = "60f14fe2-f857-404a-b586-3b5375b3259f"
	if err := rdb.Set(context.Background(), prefix+"thing:"+id, `{"id":"`+id+`","name":"widget"}`, 0).Err(); err != nil {
		t.Fatal(err)
	}
	for _, asked := range []string{id, "60F14FE2-F857-404A-B586-3B5375B3259F"} {
		st, body := call(t, l.url, "/v1/views/things/docs/"+asked)
		if st != http.StatusOK || body["name"] != "widget" {
			t.Errorf("GET %s: %d %v, want the widget", asked, st, body)
		}
	}
}
