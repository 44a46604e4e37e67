package projector_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

const reviewErrYAML = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://unused/x" } }
sources:
  rows: { topic: t.public.rows, format: json, key: id, columns: { id: bigint, g: text, big: bigint, amount: bigint } }
views:
  by_g:
    from: rows
    group_by: g
    fields:
      g: g
      n: { agg: count }
      positive: { agg: count, where: big * 4 > 0 }
      top: { agg: max, of: amount }
    sinks: { postgres: {} }
`

// TestReviewGroupExpressionErrorsCounted: the aggregate's where overflows
// (bigint * 4) on row 1. An expression error counts when a change
// evaluates the expression: a row entering its group, or a group computed
// from all its rows (a new one, or one whose max left). Taking a row's old
// values away counts nothing (its error counted when it entered), and an
// incremental pass given up for a recompute counts only the recompute. (The
// memory engine recomputes every group a batch touches, so it counts row
// 1's error in every batch that touches group a.)
func TestReviewGroupExpressionErrorsCounted(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, reviewErrYAML, nil)
	reg := prometheus.NewRegistry()
	eng, err := projector.New(projector.Options{Plan: plan, Pool: pool, Sinks: []projector.Route{{Sink: newViewSink(), Views: viewNames(plan)}}, Metrics: projector.NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	pos := int64(0)
	steps := []struct {
		what        string
		id          int
		big, amount string
		errors      float64
	}{
		{"insert row 1 (its where overflows; group a computed from its rows)", 1, "4611686018427387904", "5", 1},
		{"update row 1 (its max moves up; row 1 enters again)", 1, "4611686018427387904", "6", 2},
		{"insert row 2 (no error)", 2, "1", "1", 2},
		{"update row 1 (its max leaves: group a computed from its rows)", 1, "4611686018427387904", "2", 3},
	}
	for _, s := range steps {
		pos++
		after := map[string]any{"id": json.Number(strconv.Itoa(s.id)), "g": "a", "big": json.Number(s.big), "amount": json.Number(s.amount)}
		ch := []debezium.Change{{Kind: debezium.KindChange, Op: debezium.OpUpdate, Position: debezium.Position{Lo: pos}, After: after}}
		if err := eng.ProcessChanges(context.Background(), "rows", ch); err != nil {
			t.Fatal(err)
		}
		if got, _ := metricValue(t, reg, "projector_expression_errors_total", nil); got != s.errors {
			t.Errorf("after %s: projector_expression_errors_total = %v, want %v", s.what, got, s.errors)
		}
	}
}
