package projector_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/projectorhq/projector/projector"
)

// TestTextTypedByteaIsBase64OrNull: text in a bytea field (a text column
// retyped, an expression over jsonb, each element of a bytea[]) is bytes
// in base64 as PostgreSQL's decode(…, 'base64') reads it, written in
// standard base64 for every store: white space dropped, URL-safe text in
// the standard alphabet ("-_8=" is "+/8="). Text that is no base64
// ("hello!", "aGk" without its padding) is null and counted in
// projector_expression_errors_total, as any value its type cannot hold,
// rather than a document PostgreSQL refuses; a bytea[] with such an
// element is null as a whole, as for any array type.
func TestTextTypedByteaIsBase64OrNull(t *testing.T) {
	_, plan := loadPlan(t, reviewHead+`
sources:
  o: { topic: t.public.o, key: id, columns: { id: bigint, note: text, meta: jsonb } }
views:
  v:
    from: o
    fields:
      id: id
      raw: { column: note, type: bytea }
      photo: { expr: "meta.photo", type: bytea }
      photos: { expr: "meta.photos", type: "bytea[]" }
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
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "note", "aGk=",
			"meta", `{"photo": "-_8=", "photos": ["aGk=", " aG\nk= ", null]}`), 0),
		r.rec("o", "c", m("id", 2), nil, m("id", 2, "note", "hello!",
			"meta", `{"photo": "aGk", "photos": ["aGk=", "hello!"]}`), 0),
	})
	r.expect("v", map[string]string{
		"1": `{"raw": "aGk=", "photo": "+/8=", "photos": ["aGk=", "aGk=", null]}`,
		"2": `{"raw": null, "photo": null, "photos": null}`,
	})
	if errs, _ := metricValue(t, reg, "projector_expression_errors_total", nil); errs != 3 {
		t.Errorf("projector_expression_errors_total = %v, want 3 (raw, photo and photos of 2)", errs)
	}
}
