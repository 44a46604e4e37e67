package projector_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/projectorhq/projector/projector"
)

// TestReview32aUntypedValueTheFieldTypeCannotHold: an expression over a
// member of a jsonb column, or a column of no declared type, is typed only
// at run time. A result its field's type cannot hold — a number as a
// timestamptz, date, uuid or boolean, an object as an integer, an array
// as an integer — must be null and counted in
// projector_expression_errors_total (README: "At run time an error gives
// null and counts … a result the field's type cannot hold … a value from a
// column of no declared type that the field's type cannot read as
// PostgreSQL casts it"), the same for a column field with its own type:.
// Today the value goes through as it is: Redis and Elasticsearch hold a
// number in a timestamptz field and an object in an integer one, and
// PostgreSQL's jsonb_to_recordset refuses the whole document
// (`invalid input syntax for type timestamp with time zone: "1704067200"`).
func TestReview32aUntypedValueTheFieldTypeCannotHold(t *testing.T) {
	r := newReviewRig(t, `
sources:
  o:
    topic: t.public.o
    key: id
    columns: { id: bigint, meta: jsonb }
  loose:
    topic: t.public.loose
    key: id
views:
  v:
    from: o
    fields:
      id: id
      created: { expr: "meta.created", type: timestamptz }
      day: { expr: "meta.created", type: date }
      uid: { expr: "meta.uid", type: uuid }
      ok: { expr: "meta.uid", type: boolean }
      count: { expr: "meta.count", type: integer }
      many: { expr: "meta.list", type: bigint }
    sinks: { postgres: {} }
  l:
    from: loose
    fields:
      id: id
      at: { column: x, type: timestamptz }
      flag: { column: x, type: boolean }
    sinks: { postgres: {} }
`, false)
	reg := prometheus.NewRegistry()
	mem, err := projector.New(projector.Options{Plan: r.plan, Memory: true, Metrics: projector.NewMetrics(reg),
		Sinks: []projector.Route{{Sink: r.sinks["memory"], Views: viewNames(r.plan)}}})
	if err != nil {
		t.Fatal(err)
	}
	r.engines["memory"] = mem
	r.process([]projector.Record{
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "meta", m("created", 1704067200, "uid", 5,
			"count", m("n", 1), "list", []any{1, 2})), 0),
		r.rec("loose", "c", m("id", 1), nil, m("id", 1, "x", 12), 0),
	})
	r.expect("v", map[string]string{
		"1": `{"created":null,"day":null,"uid":null,"ok":null,"count":null,"many":null}`,
	})
	r.expect("l", map[string]string{
		"1": `{"at":null,"flag":null}`,
	})
	if errs, _ := metricValue(t, reg, "projector_expression_errors_total", nil); errs != 8 {
		t.Errorf("projector_expression_errors_total = %v, want 8 (each field above)", errs)
	}
}

// TestReview32aStringOfNullIsNull: string() of a null column is Go's
// "<nil>", written into documents as that text and passed by a where that
// compares it ('string(n) != "5"' keeps every row whose n is null as
// "<nil>"). README: an operation on a null column is null, as in SQL
// (CAST(NULL AS text) is NULL); upper(), trim() and len() of a null are
// null already, and `note + "!"` is too. Want null here as well, and the
// row out of a where that compares it.
func TestReview32aStringOfNullIsNull(t *testing.T) {
	r := newReviewRig(t, `
sources:
  o:
    topic: t.public.o
    key: id
    columns: { id: bigint, n: bigint, note: text }
views:
  v:
    from: o
    fields:
      id: id
      s: { expr: "string(n)", type: text }
      label: { expr: '"#" + string(note)', type: text }
    sinks: { postgres: {} }
  w:
    from: o
    where: 'string(n) != "5"'
    fields: { id: id }
    sinks: { postgres: {} }
`, false)
	r.process([]projector.Record{
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "n", nil, "note", nil), 0),
	})
	r.expect("v", map[string]string{"1": `{"s":null,"label":null}`})
	r.expect("w", map[string]string{"1": ""})
}
