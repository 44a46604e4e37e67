package projector_test

import (
	"context"
	"testing"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// TestCompositeIDOrder: a view may declare its id fields in another
// order than the source's key columns (compile accepts any permutation);
// the doc must still be found and built, on PostgreSQL and in memory.
func TestCompositeIDOrder(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  lines: { topic: t.public.lines, key: [order_id, line_no], columns: { order_id: bigint, line_no: bigint, note: text } }
views:
  line_view:
    from: lines
    id: [line, order]
    fields: { line: line_no, order: order_id, note: note }
    sinks: { postgres: {} }
`, nil)
	pgEng, pgSink, memEng, memSink := twinEngines(t, pool, plan)
	ch := debezium.Change{Kind: debezium.KindChange, Op: debezium.OpCreate, Position: debezium.Position{Hi: 1},
		Key:   map[string]any{"order_id": int64(1), "line_no": int64(2)},
		After: map[string]any{"order_id": int64(1), "line_no": int64(2), "note": "hi"}}
	for _, e := range []struct {
		label string
		eng   *projector.Engine
		sink  *viewSink
	}{{"postgres", pgEng, pgSink}, {"memory", memEng, memSink}} {
		if err := e.eng.ProcessChanges(context.Background(), "lines", []debezium.Change{ch}); err != nil {
			t.Fatal(err)
		}
		if len(e.sink.docs) != 1 {
			t.Fatalf("%s: %d docs", e.label, len(e.sink.docs))
		}
		for k, d := range e.sink.docs {
			if d.Deleted || d.Fields["note"] != "hi" {
				t.Errorf("%s: %s = deleted %v %v, want the line with its note", e.label, k, d.Deleted, d.Fields)
			}
		}
	}
}
