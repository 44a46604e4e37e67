package projector_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/projectorhq/projector/projector"
)

// TestRetypedArrayColumnHeldElementByElement: an array column retyped to
// another array type holds each element as a column of the element type
// does, as an expression's array result is held: text elements typed
// bytea are base64 (URL-safe text written in the standard alphabet), a
// numeric typed integer is whole; an array with one element the type
// cannot hold is null and counted, rather than a document PostgreSQL
// refuses while Redis stores it.
func TestRetypedArrayColumnHeldElementByElement(t *testing.T) {
	_, plan := loadPlan(t, reviewHead+`
sources:
  o: { topic: t.public.o, key: id, columns: { id: bigint, blobs: "text[]", counts: "numeric[]" } }
views:
  v:
    from: o
    fields:
      id: id
      blobs: { column: blobs, type: "bytea[]" }
      counts: { column: counts, type: "integer[]" }
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
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "blobs", []any{"aGk=", "-_8=", nil}, "counts", []any{1, 2.0}), 0),
		r.rec("o", "c", m("id", 2), nil, m("id", 2, "blobs", []any{"aGk=", "hello!"}, "counts", []any{1, 2.5}), 0),
	})
	r.expect("v", map[string]string{
		"1": `{"blobs": ["aGk=", "+/8=", null], "counts": [1, 2]}`,
		"2": `{"blobs": null, "counts": null}`,
	})
	if errs, _ := metricValue(t, reg, "projector_expression_errors_total", nil); errs != 2 {
		t.Errorf("projector_expression_errors_total = %v, want 2 (blobs and counts of 2)", errs)
	}
}
