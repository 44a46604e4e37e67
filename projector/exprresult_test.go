package projector_test

import (
	"math"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/projectorhq/projector/projector"
)

// TestExpressionResultsByType: an expression field is written as a column
// of its declared type is (a date as YYYY-MM-DD, a time of day, a
// timestamp rounded to its precision, a numeric(p,s) as its decimal text),
// and a result the type cannot hold — an integer +, -, * or negation out of
// bigint, an integer beyond integer, a numeric beyond its precision — is
// null and counted in projector_expression_errors_total, as PostgreSQL
// would raise an error.
func TestExpressionResultsByType(t *testing.T) {
	_, plan := loadPlan(t, reviewHead+`
sources:
  o:
    topic: t.public.o
    key: id
    columns: { id: bigint, n: bigint, small: integer, total: "numeric(10,2)", d: date, ts: timestamptz }
views:
  v:
    from: o
    fields:
      id: id
      plus: { expr: "n + 1", type: bigint }
      minus: { expr: "n - 1", type: bigint }
      twice: { expr: "n * 2", type: bigint }
      neg: { expr: "-n", type: bigint }
      wide: { expr: "small * 1000000000", type: integer }
      tripled: { expr: "total * 3", type: "numeric(10,2)" }
      whole: { expr: "small * 2", type: "numeric(10,2)" }
      rounded: { expr: "total / 3", type: "numeric(10,2)" }
      huge: { expr: "total * 100000000", type: "numeric(10,2)" }
      day: { expr: "d", type: date }
      ts_day: { expr: "ts", type: date }
      clock: { expr: "ts", type: time }
      at: { expr: "ts", type: timestamptz }
      at0: { expr: "ts", type: "timestamp(0)" }
    sinks: { postgres: {} }
`, nil)
	reg := prometheus.NewRegistry()
	metrics := projector.NewMetrics(reg)
	sink := newViewSink()
	eng, err := projector.New(projector.Options{Plan: plan, Memory: true, Metrics: metrics,
		Sinks: []projector.Route{{Sink: sink, Views: viewNames(plan)}}})
	if err != nil {
		t.Fatal(err)
	}
	r := &reviewRig{t: t, plan: plan, lsn: 100,
		engines: map[string]*projector.Engine{"memory": eng}, sinks: map[string]*viewSink{"memory": sink}}
	r.process([]projector.Record{
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "n", int64(math.MaxInt64), "small", 4, "total", "0.10",
			"d", "2024-01-02", "ts", "2024-01-02T23:04:05.654321Z"), 0),
		r.rec("o", "c", m("id", 2), nil, m("id", 2, "n", int64(math.MinInt64), "small", 2, "total", "1.00"), 0),
		r.rec("o", "c", m("id", 3), nil, m("id", 3, "n", -5, "small", 0, "total", "99999999.99"), 0),
	})
	r.expect("v", map[string]string{
		"1": `{"plus":null,"minus":9223372036854775806,"twice":null,"neg":-9223372036854775807,"wide":null,
			"tripled":"0.30","whole":"8.00","rounded":"0.03","huge":"10000000.00",
			"day":"2024-01-02","ts_day":"2024-01-02","clock":"23:04:05.654321",
			"at":"2024-01-02T23:04:05.654321Z","at0":"2024-01-02T23:04:06Z"}`,
		"2": `{"plus":-9223372036854775807,"minus":null,"twice":null,"neg":null,"wide":2000000000,
			"tripled":"3.00","rounded":"0.33","huge":null}`,
		"3": `{"plus":-4,"minus":-6,"twice":-10,"neg":5,"wide":0,"whole":"0.00","tripled":null,"rounded":"33333333.33","huge":null}`,
	})
	// plus, twice and wide of 1; minus, twice, neg and huge of 2; tripled
	// and huge of 3.
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var errs float64
	for _, f := range fams {
		if f.GetName() == "projector_expression_errors_total" {
			errs = f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	if errs != 9 {
		t.Errorf("projector_expression_errors_total = %v, want 9", errs)
	}
}
