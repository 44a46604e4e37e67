package projector_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// groupExprYAML computes two fields of each group from the group: an
// average ticket from its aggregates, and a label from its group_by
// column and count.
const groupExprYAML = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://unused/x" } }
sources:
  orders: { topic: t.public.orders, format: json, key: id, columns: { id: bigint, user_id: text, status: text, total: "numeric(10,2)" } }
views:
  stats:
    from: orders
    where: status != "cancelled"
    group_by: user_id
    fields:
      user_id: user_id
      n: { agg: count }
      spent: { agg: sum, of: total }
      avg_ticket: { expr: "n > 0 ? spent / n : nil", type: "numeric(10,2)" }
      label: { expr: 'user_id + " (" + string(n) + ")"', type: text }
    sinks: { postgres: {} }
`

// TestGroupByExprFields: an expr field of a group_by view is computed from
// the group's columns and the aggregates before it, in the batch that
// makes the group and in later ones that bring its kept aggregates up to
// date, on PostgreSQL as in memory.
func TestGroupByExprFields(t *testing.T) {
	for _, memory := range []bool{false, true} {
		t.Run(fmt.Sprintf("memory=%v", memory), func(t *testing.T) {
			sink, change := newChangeRig(t, groupExprYAML, memory)
			upsert := func(rows ...map[string]any) { t.Helper(); change("orders", rows...) }
			check := func(step string, want map[string]any) {
				t.Helper()
				sink.mu.Lock()
				d := sink.docs["stats/u1"]
				sink.mu.Unlock()
				for k, w := range want {
					if got := fmt.Sprint(d.Fields[k]); got != fmt.Sprint(w) {
						t.Errorf("%s: %s = %s, want %v (doc %v)", step, k, got, w, d.Fields)
					}
				}
			}
			upsert(aggOrder(1, "u1", "paid", "10.00", ""), aggOrder(2, "u1", "paid", "15.00", ""))
			check("made", map[string]any{"n": 2, "spent": "25.00", "avg_ticket": "12.50", "label": "u1 (2)"})
			upsert(aggOrder(3, "u1", "paid", "5.00", ""))
			check("a row joins", map[string]any{"n": 3, "spent": "30.00", "avg_ticket": "10.00", "label": "u1 (3)"})
			upsert(aggOrder(1, "u1", "cancelled", "10.00", ""))
			check("a row leaves", map[string]any{"n": 2, "spent": "20.00", "avg_ticket": "10.00", "label": "u1 (2)"})
		})
	}
}

// newChangeRig runs cfg's engine, on PostgreSQL or in memory, into a
// viewSink; change applies rows (updates) of a source as one batch, each
// at the next position.
func newChangeRig(t *testing.T, cfg string, memory bool) (*viewSink, func(source string, rows ...map[string]any)) {
	t.Helper()
	_, plan := loadPlan(t, cfg, nil)
	sink := newViewSink()
	var eng *projector.Engine
	if memory {
		var err error
		if eng, err = projector.New(projector.Options{Plan: plan, Memory: true, Sinks: []projector.Route{{Sink: sink, Views: viewNames(plan)}}}); err != nil {
			t.Fatal(err)
		}
	} else {
		pool, _ := testenv.Postgres(t)
		eng = newEngine(t, pool, plan, sink, nil)
	}
	pos := int64(0)
	return sink, func(source string, rows ...map[string]any) {
		t.Helper()
		var chs []debezium.Change
		for _, row := range rows {
			pos++
			chs = append(chs, debezium.Change{Kind: debezium.KindChange, Op: debezium.OpUpdate, Position: debezium.Position{Lo: pos}, After: row})
		}
		if err := eng.ProcessChanges(context.Background(), source, chs); err != nil {
			t.Fatal(err)
		}
	}
}
