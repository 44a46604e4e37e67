package projector_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// badRecordEngine wires an engine over the query PostgreSQL only (no Kafka:
// Process is driven directly).
func badRecordEngine(t *testing.T, yaml string) (*stack.Stack, *pgxpool.Pool) {
	t.Helper()
	pool, pgURL := testenv.Postgres(t)
	cfg, plan := loadPlan(t, yaml, env("PG", pgURL))
	st, err := stack.Wire(context.Background(), cfg, plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st, pool
}

const dlReviewDocsYAML = `
version: 1
kafka: { brokers: "localhost:9092", group: review_docs }
stores:
  postgres: { url: "${PG}" }
sources:
  docs:
    topic: cqrs.public.docs
    key: id
    columns: { id: text, body: jsonb }
views:
  review_doc_view:
    from: docs
    fields: { id: id, body: body }
    sinks:
      postgres: { table: review_doc_view }
`

// TestJSONColumnNULIsNotAPoisonPill: a Debezium Json column whose
// text holds an escaped NUL ("\u0000", legal in a PostgreSQL json column)
// decodes fine, but the state write of its whole batch then fails with
// "unsupported Unicode escape sequence", reported as a state database
// error: the consumer retries the batch forever and every record behind it
// waits. The record must be applied (NUL read as U+FFFD, as in every other
// string) or dead-lettered, never block its batch.
func TestJSONColumnNULIsNotAPoisonPill(t *testing.T) {
	st, pool := badRecordEngine(t, dlReviewDocsYAML)
	value := `{"schema":{"type":"struct","fields":[
	  {"field":"after","type":"struct","optional":true,"fields":[{"field":"id","type":"string"},
	    {"field":"body","type":"string","optional":true,"name":"io.debezium.data.Json"}]},
	  {"field":"op","type":"string"},
	  {"field":"source","type":"struct","fields":[{"field":"connector","type":"string"},{"field":"lsn","type":"int64"}]}]},
	  "payload":{"op":"c","source":{"connector":"postgresql","lsn":10},"after":{"id":"d1","body":"{\"a\":\"x\\u0000y\"}"}}}`
	good := `{"op":"c","source":{"connector":"postgresql","lsn":11},"after":{"id":"d2","body":"{\"a\":\"fine\"}"}}`
	dead, err := st.Engine.Process(context.Background(), []projector.Record{
		{Topic: "cqrs.public.docs", Offset: 0, Key: []byte(`{"id":"d1"}`), Value: []byte(value)},
		{Topic: "cqrs.public.docs", Offset: 1, Key: []byte(`{"id":"d2"}`), Value: []byte(good)},
	})
	if err != nil {
		t.Fatalf("the batch fails as a whole (the consumer would retry it forever): %v", err)
	}
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM review_doc_view`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n+len(dead) != 2 || n < 1 {
		t.Errorf("%d docs written and %d dead letters; want d2 written and d1 written or dead-lettered", n, len(dead))
	}
}

// TestChangeWithoutRowImage: a PostgreSQL update (or create) whose
// "after" is null is not a valid Debezium change. It must be dead-lettered;
// it is applied instead as a row holding only its key, which silently
// erases every other column of the stored row (and of its documents).
func TestChangeWithoutRowImage(t *testing.T) {
	yaml := strings.NewReplacer(
		"  redis: { url: \"${REDIS}\" }\n", "",
		"      redis: { key: \"${PREFIX}widget:{id}\" }\n", "",
		"group: widgets", "group: review_widgets",
		"\"${BROKERS}\"", "\"localhost:9092\"",
	).Replace(widgetsYAML)
	st, pool := badRecordEngine(t, yaml)
	ctx := context.Background()
	dead, err := st.Engine.Process(ctx, []projector.Record{
		{Topic: "cqrs.public.widgets", Offset: 0, Key: []byte(`{"id":"w1"}`),
			Value: []byte(`{"op":"c","before":null,"after":{"id":"w1","name":"gadget","active":true},"source":{"connector":"postgresql","lsn":10}}`)},
		{Topic: "cqrs.public.widgets", Offset: 1, Key: []byte(`{"id":"w1"}`),
			Value: []byte(`{"op":"u","before":null,"after":null,"source":{"connector":"postgresql","lsn":20}}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].Record.Offset != 1 {
		t.Errorf("dead letters %v: want the update without a row image (offset 1)", dead)
	}
	var title *string
	var active *bool
	if err := pool.QueryRow(ctx, `SELECT title, active FROM widget_view WHERE id = 'w1'`).Scan(&title, &active); err != nil {
		t.Fatal(err)
	}
	if title == nil || *title != "gadget" || active == nil || !*active {
		t.Errorf("widget_view[w1] = title %v, active %v: want gadget, true (the create's values, kept)", dlReviewDeref(title), dlReviewDeref(active))
	}
}

func dlReviewDeref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
