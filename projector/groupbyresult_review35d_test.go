package projector_test

import (
	"context"
	"testing"

	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

const r35dGroupByYAML = `
version: 1
kafka: { brokers: "localhost:9092", group: r35d_groupby }
stores:
  postgres: { url: "${PG}" }
sources:
  docs:
    topic: cqrs.public.docs
    key: id
    columns: { id: text, body: jsonb }
views:
  r35d_groups:
    from: docs
    fields:
      id: id
      n: { expr: "len(body)", type: bigint }
      by_value: { expr: "groupBy(body, #)", type: jsonb }
    sinks:
      postgres: { table: r35d_groups }
`

// TestR35dGroupByResultRefusesTheDocument: an expr field typed jsonb whose
// value is groupBy(...) (validate accepts it: a jsonb is of any type to the
// check, and jsonb takes anything) is expr-lang's map[any][]any, which no
// store can encode: PostgreSQL and Redis refuse the whole document ("json:
// unsupported type: map[interface {}][]interface {}"), every version of it,
// and keep the previous one. README: "At run time an error gives null and
// counts in projector_expression_errors_total: ... a result the field's
// type cannot hold"; a field's value must not cost the document. The doc
// must be written, with by_value null (counted) or the groups as a JSON
// object.
func TestR35dGroupByResultRefusesTheDocument(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	cfg, plan := loadPlan(t, r35dGroupByYAML, env("PG", pgURL))
	st, err := stack.Wire(context.Background(), cfg, plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	val := `{"op":"c","source":{"connector":"postgresql","lsn":10},"after":{"id":"d1","body":"[1, 2, 1]"}}`
	if _, err := st.Engine.Process(context.Background(), []projector.Record{
		{Topic: "cqrs.public.docs", Offset: 0, Key: []byte(`{"id":"d1"}`), Value: []byte(val)},
	}); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := pool.QueryRow(context.Background(), `SELECT n FROM r35d_groups WHERE id = 'd1'`).Scan(&n); err != nil {
		t.Fatalf("doc d1 is not in r35d_groups (%v): PostgreSQL refused the whole document for its groupBy field", err)
	}
	if n != 3 {
		t.Errorf("n = %d, want 3", n)
	}
}
