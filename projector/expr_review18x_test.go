package projector_test

// Review 18x: expression semantics, each run on the PostgreSQL state and
// on the memory state.

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// TestR18xUncheckedResultOfUntypedValue: expression fields over a source
// without declared columns (numbers as int64 or float64, as they come),
// typed integer, bigint, smallint, integer[], numeric(10,2), double
// precision and text.
// Input: qty 3, price 1.25, code "abc", flag true, big 1e19.
// Expected (README): "At run time an error gives null and counts …: a
// result the field's type cannot hold (an integer beyond 32 bits, …, an
// array with an element its element type cannot hold)", and "A result is
// written as a column of its type holds it, the same in every store": an
// integer cannot hold 3.75 or 1.25, a bigint neither "abc" nor 1e19, a
// numeric(10,2) neither "abc" (and holds "1.234" as "1.23"), a double
// precision not "abc"; a text column holds the boolean true as "true"
// (PostgreSQL's jsonb_to_recordset gives 'true').
// Got: every value passes through unchanged (3.75, "abc", [1.25],
// 10000000000000000000, true …): exprResult (projector/exprresult.go)
// checks a float64 only against numeric and real, and a string only
// against varchar, timestamps, dates, uuid and time; fits
// (projections/expr.go) lets any interface-typed result through
// validate. The PostgreSQL sink then refuses the whole document
// (invalid input syntax for type integer: "3.75"; value
// "10000000000000000000" is out of range for type bigint) while Redis and
// Elasticsearch store it.
func TestR18xUncheckedResultOfUntypedValue(t *testing.T) {
	r := newReviewRig(t, `
sources:
  o: { topic: t.public.o, key: id }
views:
  v:
    from: o
    fields:
      id: id
      total: { expr: "qty * price", type: integer }
      small: { expr: "price", type: smallint }
      code_n: { expr: "code", type: bigint }
      big_n: { expr: "big", type: bigint }
      arr: { expr: "[price]", type: "integer[]" }
      dec: { expr: "code", type: "numeric(10,2)" }
      dbl: { expr: "code", type: double precision }
      label: { expr: "flag", type: text }
    sinks: { postgres: {} }
`, true)
	r.process([]projector.Record{
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "qty", 3, "price", 1.25, "code", "abc", "flag", true, "big", 1e19), 0),
		r.rec("o", "c", m("id", 2), nil, m("id", 2, "code", "1.234"), 0),
	})
	r.expect("v", map[string]string{
		"1": `{"total":null,"small":null,"code_n":null,"big_n":null,"arr":null,"dec":null,"dbl":null,"label":"true"}`,
		"2": `{"dec":"1.23"}`,
	})
}

// TestR18xErrorNotCountedBesideNullColumn: field `(n ?? 0) + int(s)`,
// type bigint; s = "abc" (int("abc") fails) and n null or 1.
// Expected (README): "At run time an error gives null and counts in
// projector_expression_errors_total"; only an operation *on* a null column
// (n + 1, n > 3, note != "a") is null without counting, and here n is
// coalesced: both rows fail on int("abc") alike, 2 errors.
// Got: 1: builder.eval (projector/build.go) skips counting any failed
// evaluation whose expression reads a name that is null (readsNull), even
// when the error has nothing to do with it.
func TestR18xErrorNotCountedBesideNullColumn(t *testing.T) {
	yaml := `
sources:
  o: { topic: t.public.o, key: id, columns: { id: bigint, n: bigint, s: text } }
views:
  v:
    from: o
    fields:
      id: id
      x: { expr: "(n ?? 0) + int(s)", type: bigint }
    sinks: { postgres: {} }
`
	_, plan := loadPlan(t, reviewHead+yaml, nil)
	for _, state := range []string{"memory", "postgres"} {
		reg := prometheus.NewRegistry()
		sink := newViewSink()
		opts := projector.Options{Plan: plan, Metrics: projector.NewMetrics(reg),
			Sinks: []projector.Route{{Sink: sink, Views: viewNames(plan)}}}
		if state == "memory" {
			opts.Memory = true
		} else {
			opts.Pool, _ = testenv.Postgres(t)
		}
		eng, err := projector.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		if state == "postgres" {
			if err := eng.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		r := &reviewRig{t: t, plan: plan, lsn: 100,
			engines: map[string]*projector.Engine{state: eng}, sinks: map[string]*viewSink{state: sink}}
		r.process([]projector.Record{
			r.rec("o", "c", m("id", 1), nil, m("id", 1, "n", nil, "s", "abc"), 0),
			r.rec("o", "c", m("id", 2), nil, m("id", 2, "n", 1, "s", "abc"), 0),
		})
		r.expect("v", map[string]string{"1": `{"x":null}`, "2": `{"x":null}`})
		if errs, _ := metricValue(t, reg, "projector_expression_errors_total", nil); errs != 2 {
			t.Errorf("%s: projector_expression_errors_total = %v, want 2 (int(\"abc\") fails on both rows)", state, errs)
		}
	}
}

// TestR18xNumericInfinityIsText: where `nn > 0` and field `nn > 0`, nn
// numeric holding "Infinity" (README, What it decodes: a numeric's
// infinities read as "Infinity").
// Expected (config/doc.go, "Expressions and aggregates": expressions see
// columns "typed by the source's declared columns (integers as int64,
// other numbers as float64 …)"; validate type-checked nn as float64): nn
// is +Inf, so nn > 0 is true — as PostgreSQL's 'Infinity'::numeric > 0 —
// the row passes, and no expression error.
// Got: ExprValue (projections/types.go) parses numbers with
// decimal.NewFromString, which refuses "Infinity", and hands the
// expression the string: `nn > 0` fails (string > int), the row is
// dropped and an expression error counted.
func TestR18xNumericInfinityIsText(t *testing.T) {
	r := newReviewRig(t, `
sources:
  o: { topic: t.public.o, key: id, columns: { id: bigint, nn: numeric } }
views:
  v:
    from: o
    where: nn > 0
    fields:
      id: id
      pos: { expr: "nn > 0", type: boolean }
    sinks: { postgres: {} }
`, true)
	r.process([]projector.Record{
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "nn", "Infinity"), 0),
		r.rec("o", "c", m("id", 2), nil, m("id", 2, "nn", "1.5"), 0),
	})
	r.expect("v", map[string]string{"1": `{"pos":true}`, "2": `{"pos":true}`})
}
