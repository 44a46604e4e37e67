package query_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/projectorhq/projector/internal/query"
	"github.com/projectorhq/projector/internal/testenv"
)

// TestGetSlimRedisReadsWholeDoc: a view whose Redis sink keeps some fields
// only (fields:) has the whole doc in PostgreSQL. A get answers with the
// whole doc, as a list does, not Redis's slice of it; with no PostgreSQL
// sink, the slice is all there is.
func TestGetSlimRedisReadsWholeDoc(t *testing.T) {
	for _, withPG := range []bool{true, false} {
		pool, pgURL := testenv.Postgres(t)
		rdb, prefix := testenv.Redis(t)
		ctx := context.Background()
		for _, q := range []string{`CREATE TABLE slim (id bigint PRIMARY KEY, body text, extra text)`, `INSERT INTO slim VALUES (1, 'hello', 'more')`} {
			if _, err := pool.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		if err := rdb.Set(ctx, prefix+"slim:1", `{"body":"hello"}`, 0).Err(); err != nil {
			t.Fatal(err)
		}
		pg := "postgres: { table: slim }\n      "
		if !withPG {
			pg = ""
		}
		yaml := `
version: 1
kafka: { brokers: "localhost:1", group: slim }
stores:
  postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }
sources:
  slim: { topic: app.public.slim, key: id, columns: { id: bigint, body: text, extra: text } }
views:
  slim:
    from: slim
    fields: { id: id, body: body, extra: extra }
    sinks:
      ` + pg + `redis: { key: "${PREFIX}slim:{id}", fields: [body] }
`
		api := offlineServer(t, yaml, map[string]string{"PG": pgURL, "REDIS": testenv.RedisURL(t), "PREFIX": prefix}, query.Options{})
		h := httptest.NewServer(api.Handler())
		st, body := call(t, h.URL, "/v1/views/slim/docs/1")
		h.Close()
		wantExtra := any("more")
		if !withPG {
			wantExtra = nil
		}
		if st != http.StatusOK || body["body"] != "hello" || body["extra"] != wantExtra {
			t.Errorf("with postgres %v: GET /docs/1 = %d %v, want 200 with extra %v", withPG, st, body, wantExtra)
		}
	}
}
