package projector_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

const textBudgetYAML = `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  docs: { topic: cqrs.public.docs, key: id, columns: { id: text, qty: bigint } }
views:
  bars:
    from: docs
    fields:
      id: id
      bar: { expr: 'reduce(1..qty, #acc + "#", "")', type: text }
    sinks: { postgres: {} }
`

// TestExpressionTextBudget: an expression that builds text in quadratic
// time (a character per step of a reduce over a row's value) ran unbounded
// while holding the state lock: one record stopped every partition for
// seconds to minutes. Past projections.TextBudget its field is null, as
// for any runtime error.
func TestExpressionTextBudget(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, textBudgetYAML, nil)
	mem := &memSink{docs: map[string]sinks.Doc{}}
	eng := newEngine(t, pool, plan, mem, nil)
	rec := func(id string, qty int, off int64) projector.Record {
		return projector.Record{Topic: "cqrs.public.docs", Offset: off, Key: []byte(`{"id":"` + id + `"}`),
			Value: fmt.Appendf(nil, `{"op":"c","source":{"connector":"postgresql","lsn":%d},"after":{"id":%q,"qty":%d}}`, 10+off, id, qty)}
	}
	if dead, err := eng.Process(context.Background(), []projector.Record{rec("small", 3, 1), rec("huge", 300_000, 2)}); err != nil || len(dead) > 0 {
		t.Fatalf("process: %v %v", err, dead)
	}
	if got := mem.docs["small"].Fields["bar"]; got != strings.Repeat("#", 3) {
		t.Errorf("small bar = %v, want ###", got)
	}
	if d, ok := mem.docs["huge"]; !ok || d.Fields["bar"] != nil {
		t.Errorf("huge doc %v (present %v), want it with bar null", d.Fields, ok)
	}
}
