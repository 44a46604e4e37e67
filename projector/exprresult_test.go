package projector_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
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
	errs, _ := metricValue(t, reg, "projector_expression_errors_total", nil)
	if errs != 9 {
		t.Errorf("projector_expression_errors_total = %v, want 9", errs)
	}
}

// TestExpressionResultsAsStoresHoldThem: an expression's result is written
// as the PostgreSQL column of its type holds it, so that Redis and
// Elasticsearch hold the same: text typed timestamptz or date read as one
// (null and counted when it is none), a uuid in canonical form (null and
// counted when it is none), NUL as U+FFFD in text and inside json, -0 as 0,
// a real as a float32, a timestamp without a declared precision in
// microseconds; and a float sum beyond its type's range is null and
// counted, as PostgreSQL's sum raises an overflow.
func TestExpressionResultsAsStoresHoldThem(t *testing.T) {
	_, plan := loadPlan(t, reviewHead+`
sources:
  o:
    topic: t.public.o
    key: id
    columns: { id: bigint, g: bigint, s: text, u: uuid, d: "double precision", r: real, ts: timestamptz }
views:
  v:
    from: o
    fields:
      id: id
      at: { expr: "s", type: timestamptz }
      day: { expr: "s", type: date }
      uid: { expr: "upper(u)", type: uuid }
      not_uid: { expr: "s", type: uuid }
      nul: { expr: "s + '\\u0000'", type: text }
      doc: { expr: "{'k\\u0000': s + '\\u0000', 'z': d * -1.0}", type: jsonb }
      negzero: { expr: "d * -1.0", type: "double precision" }
      real: { expr: "d", type: real }
      huge_real: { expr: "d * 1e300", type: real }
      at6: { expr: "ts", type: timestamptz }
    sinks: { postgres: {} }
  sums:
    from: o
    group_by: g
    fields: { g: g, sum_d: { agg: sum, of: d }, sum_r: { agg: sum, of: r } }
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
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "g", 1, "s", "2024-01-02T23:30:00.1234567-05:00",
			"u", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "d", 0, "r", 16777216, "ts", "2024-01-02T03:04:05.9999996Z"), 0),
		r.rec("o", "c", m("id", 2), nil, m("id", 2, "g", 1, "s", "2024-01-02", "u", "A0EEBC999C0B4EF8BB6D6BB9BD380A11", "d", 3.14159265358979, "r", 0.1), 0),
		r.rec("o", "c", m("id", 3), nil, m("id", 3, "g", 2, "s", "tomorrow", "u", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "d", 1e308, "r", 3e38), 0),
		r.rec("o", "c", m("id", 4), nil, m("id", 4, "g", 2, "s", "x", "u", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "d", 1e308, "r", 3e38), 0),
	})
	r.expect("v", map[string]string{
		"1": `{"at":"2024-01-03T04:30:00.123457Z","day":"2024-01-03","uid":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
			"not_uid":null,"nul":"2024-01-02T23:30:00.1234567-05:00\uFFFD","doc":{"k\uFFFD":"2024-01-02T23:30:00.1234567-05:00\uFFFD","z":0},
			"negzero":0,"real":0,"huge_real":0,"at6":"2024-01-02T03:04:06Z"}`,
		"2": `{"at":"2024-01-02T00:00:00Z","day":"2024-01-02","uid":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","not_uid":null,
			"real":3.1415927,"huge_real":null}`,
		"3": `{"at":null,"day":null,"not_uid":null,"real":null,"huge_real":null}`,
	})
	r.expect("sums", map[string]string{
		"1": `{"sum_d":3.14159265358979,"sum_r":16777216}`,
		"2": `{"sum_d":null,"sum_r":null}`,
	})
	if got := sink.docs["v/1"].Fields["negzero"]; got != json.Number("0") {
		t.Errorf("negzero = %#v, want 0", got)
	}
	// not_uid of 1, 2, 3 and 4; at, day and real of 3 and 4; huge_real of
	// 2, 3 and 4; sum_d and sum_r of group 2.
	errs, _ := metricValue(t, reg, "projector_expression_errors_total", nil)
	if errs != 15 {
		t.Errorf("projector_expression_errors_total = %v, want 15", errs)
	}
}

// TestRoundingAsPostgreSQL checks the decoder's rounding, which every store
// gets, against a real PostgreSQL: a time or timestamp to its column's
// precision (microseconds read half to even through a double, then to p
// digits half away from 2000-01-01, so a half before it goes down), and a
// double to a real.
func TestRoundingAsPostgreSQL(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	stamps := []string{
		"2024-01-02T03:04:05.5", "1999-12-31T23:59:58.5", "1969-12-31T23:59:58.5", "2000-01-01T00:00:00.5",
		"2024-01-02T03:04:05.1234565", "2024-01-02T03:04:05.1234575", "2024-01-02T03:04:05.9999995",
		"1990-01-02T03:04:05.0000005", "1999-12-31T23:59:59.95", "1999-12-31T23:59:59.25",
		"2000-01-01T00:00:00.25", "1950-06-01T12:00:00.4999995", "0001-01-01T00:00:00.000000500",
		"2024-01-02T03:04:05.999999999", "1960-03-04T05:06:07.05", "2030-03-04T05:06:07.05",
		"1960-03-04T05:06:07.0000015", "1960-03-04T05:06:07.0000025",
	}
	for _, s := range stamps {
		for _, p := range []int{0, 1, 2, 3, 5, -1} {
			typ := "timestamp"
			if p >= 0 {
				typ += fmt.Sprintf("(%d)", p)
			}
			var pg time.Time
			if err := pool.QueryRow(ctx, "SELECT $1::text::"+typ, s).Scan(&pg); err != nil {
				t.Fatal(err)
			}
			in, ok := debezium.ParseTimestamp(s)
			if !ok {
				t.Fatalf("ParseTimestamp(%q) failed", s)
			}
			if got := debezium.RoundTimestamp(in, p); !got.Equal(pg) {
				t.Errorf("%s as %s: %s, PostgreSQL %s", s, typ, got.Format(time.RFC3339Nano), pg.Format(time.RFC3339Nano))
			}
		}
	}
	clocks := []string{"23:59:59.9999999", "10:00:00.5", "10:00:00.0000005", "10:00:00.0000015",
		"10:00:00.4999995", "00:00:00.05", "12:34:56.789123456", "23:59:59.5", "00:00:00.000000999"}
	for _, s := range clocks {
		for _, p := range []int{0, 1, 3, -1} {
			typ := "time"
			if p >= 0 {
				typ += fmt.Sprintf("(%d)", p)
			}
			var micros int64
			if err := pool.QueryRow(ctx, "SELECT (extract(epoch FROM $1::text::"+typ+") * 1000000)::bigint", s).Scan(&micros); err != nil {
				t.Fatal(err)
			}
			c, err := time.Parse("15:04:05.999999999", s)
			if err != nil {
				t.Fatal(err)
			}
			in := debezium.TimeOfDay(c.Sub(time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)))
			if got := in.Round(p); time.Duration(got) != time.Duration(micros)*time.Microsecond {
				t.Errorf("%s as %s: %s, PostgreSQL %s", s, typ, got, time.Duration(micros)*time.Microsecond)
			}
		}
	}
	for _, f := range []float64{3.14159265358979, 16777217, 16777219, 0.1, 1e-40, 3.4028235e38,
		1.00000005960464477539, 1.0000000596046448, -2.5e-45, 123456789.123} {
		var pg float32
		if err := pool.QueryRow(ctx, "SELECT $1::float8::real", f).Scan(&pg); err != nil {
			t.Fatal(err)
		}
		got, ok := debezium.RoundReal(f)
		if !ok || float32(got) != pg || strconv.FormatFloat(got, 'g', -1, 64) != strconv.FormatFloat(float64(pg), 'g', -1, 32) {
			t.Errorf("%v as real: %v (%v), PostgreSQL %v", f, got, ok, pg)
		}
	}
	if _, ok := debezium.RoundReal(1e39); ok {
		t.Error("1e39 fits a real; PostgreSQL: out of range")
	}
}
