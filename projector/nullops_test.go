package projector_test

import (
	"math"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/projectorhq/projector/projector"
)

// TestNullOperandsAreNotErrors: an operation on a null column (note != "a",
// n + 1 with the column null) fails in expr-lang; it gives null, as SQL's
// does (the row does not pass the where; the field is null), without
// counting in projector_expression_errors_total, which the nulls of
// ordinary data flooded. An overflow still counts.
func TestNullOperandsAreNotErrors(t *testing.T) {
	_, plan := loadPlan(t, reviewHead+`
sources:
  o:
    topic: t.public.o
    key: id
    columns: { id: bigint, n: bigint, note: text }
views:
  v:
    from: o
    where: 'note != "skip"'
    fields:
      id: id
      next: { expr: "n + 1", type: bigint }
      kept: { expr: 'note == nil or note != "a"', type: boolean }
    sinks: { postgres: {} }
`, nil)
	reg := prometheus.NewRegistry()
	sink := newViewSink()
	eng, err := projector.New(projector.Options{Plan: plan, Memory: true, Metrics: projector.NewMetrics(reg),
		Sinks: []projector.Route{{Sink: sink, Views: viewNames(plan)}}})
	if err != nil {
		t.Fatal(err)
	}
	r := &reviewRig{t: t, plan: plan, lsn: 100,
		engines: map[string]*projector.Engine{"memory": eng}, sinks: map[string]*viewSink{"memory": sink}}
	r.process([]projector.Record{
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "n", 1, "note", "x"), 0),
		r.rec("o", "c", m("id", 2), nil, m("id", 2, "n", nil, "note", "x"), 0),
		r.rec("o", "c", m("id", 3), nil, m("id", 3, "n", 1, "note", nil), 0),
		r.rec("o", "c", m("id", 4), nil, m("id", 4, "n", int64(math.MaxInt64), "note", "x"), 0),
	})
	r.expect("v", map[string]string{
		"1": `{"next":2,"kept":true}`,
		"2": `{"next":null,"kept":true}`,
		"4": `{"next":null,"kept":true}`,
	})
	if _, ok := sink.docs["v/3"]; ok && !sink.docs["v/3"].Deleted {
		t.Errorf("row 3 (note null) passed where note != \"skip\": SQL's NULL <> 'skip' does not")
	}
	errs, _ := metricValue(t, reg, "projector_expression_errors_total", nil)
	if errs != 1 {
		t.Errorf("projector_expression_errors_total = %v, want 1 (the overflow of 4; not the nulls of 2 and 3)", errs)
	}
}
