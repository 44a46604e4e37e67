package projector_test

// Review 9: expression semantics, each run on the PostgreSQL state and on
// the memory state (newReviewRig) unless noted.

import (
	"fmt"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
)

// field9 is the value of one field of a doc, on one engine's sink.
func field9(r *reviewRig, engine, view, id, name string) (any, bool) {
	s := r.sinks[engine]
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.docs[view+"/"+id]
	if !ok || d.Deleted {
		return nil, false
	}
	return d.Fields[name], true
}

// Expression: where `j.a % 7 == 2` and field `type(j.a)`, j jsonb.
// Input: j = {"a":1e2}.
// Expected: both engines give the same documents (README, "Testing your
// views": the in-memory state has "the same rules as the PostgreSQL one");
// 100 % 7 is 2, so the row passes and type(j.a) is "int".
// Got: the PostgreSQL state gives j back as jsonb normalised it ({"a":100}:
// int64 100 to the expression); the memory state keeps the number's text
// "1e2", which projections.natural (types.go:171) makes a float64, so % fails
// (no document) and type(j.a) is "float". The copied column differs as
// well ({"a":1e2} vs {"a":100}; -0.0 vs 0.0, 1E-7 vs 0.0000001).
func TestReview9JsonbNumberTextDiffersBetweenEngines(t *testing.T) {
	r := newReviewRig(t, `
sources:
  o: { topic: t.public.o, key: id, columns: { id: bigint, j: jsonb } }
views:
  v:
    from: o
    where: j.a % 7 == 2
    fields:
      id: id
      ty: { expr: "type(j.a)", type: text }
    sinks: { postgres: {} }
`, true)
	r.process([]projector.Record{
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "j", `{"a":1e2}`), 0),
	})
	r.expect("v", map[string]string{"1": `{"ty":"int"}`})
}

// Expression: `int(f)`, type bigint, f double precision.
// Input: f = 1e19, and f = -1e30.
// Expected: null and an expression error (README: "At run time an error
// gives null ...: integer + - * beyond bigint (PostgreSQL's "bigint out of
// range") ..., a result the field's type cannot hold"; PostgreSQL's
// 1e19::float8::bigint is "bigint out of range").
// Got: -9223372036854775808 for both: expr's int() converts with Go's
// int(float64), which is not checked (checkedIntegers, exprint.go:36, does
// not patch int()); a wrong value is written silently.
func TestReview9IntOfHugeFloatWraps(t *testing.T) {
	r := newReviewRig(t, `
sources:
  o: { topic: t.public.o, key: id, columns: { id: bigint, f: double precision } }
views:
  v:
    from: o
    fields:
      id: id
      i: { expr: "int(f)", type: bigint }
    sinks: { postgres: {} }
`, true)
	r.process([]projector.Record{
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "f", 1e19), 0),
		r.rec("o", "c", m("id", 2), nil, m("id", 2, "f", -1e30), 0),
	})
	r.expect("v", map[string]string{"1": `{"i":null}`, "2": `{"i":null}`})
}

// Expression: `1 in arr`, `sum(arr)`, `arr[0] + 1`, arr bigint[].
// Input: arr = [1, 2, 3].
// Expected: true, 6, 2 (config/doc.go "Expressions and aggregates":
// expressions see columns "typed by the source's declared columns
// (integers as int64, ...)").
// Got: false, null, null: ExprValue (types.go:120) returns an array column
// as it is, its elements json.Number, which expr neither compares with 1
// nor adds; `where: 1 in arr` silently drops every row.
func TestReview9IntegerArrayElementsAreNotIntegers(t *testing.T) {
	r := newReviewRig(t, `
sources:
  o: { topic: t.public.o, key: id, columns: { id: bigint, arr: "bigint[]" } }
views:
  v:
    from: o
    fields:
      id: id
      has1: { expr: "1 in arr", type: boolean }
      total: { expr: "sum(arr)", type: bigint }
      next: { expr: "arr[0] + 1", type: bigint }
    sinks: { postgres: {} }
`, true)
	r.process([]projector.Record{
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "arr", []any{1, 2, 3}), 0),
	})
	r.expect("v", map[string]string{"1": `{"has1":true,"total":6,"next":2}`})
}

// Expression: `b - a` (a, b timestamptz: a time.Duration) into a field of
// type integer, smallint and numeric(10,2).
// Input: a = 2024-01-01T00:00:00Z, b = one hour later.
// Expected: null (README: "a result the field's type cannot hold (an
// `integer` beyond 32 bits, a `numeric(p,s)` beyond `p` digits)" is an
// error that gives null; validate accepts the field since a Duration is an
// int64 kind); a numeric(10,2) is written with 2 decimals in any case.
// Got: 3600000000000 in all three: exprResult (exprresult.go:29) checks
// only int and int64, and passes any other integer type (time.Duration,
// time.Month, ...) unchanged, so the PostgreSQL sink then refuses the whole
// document (integer out of range) instead of writing a null field.
func TestReview9DurationResultSkipsRangeChecks(t *testing.T) {
	r := newReviewRig(t, `
sources:
  o: { topic: t.public.o, key: id, columns: { id: bigint, a: timestamptz, b: timestamptz } }
views:
  v:
    from: o
    fields:
      id: id
      di: { expr: "b - a", type: integer }
      ds: { expr: "b - a", type: smallint }
      dn: { expr: "b - a", type: "numeric(10,2)" }
    sinks: { postgres: {} }
`, true)
	r.process([]projector.Record{
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "a", "2024-01-01T00:00:00Z", "b", "2024-01-01T01:00:00Z"), 0),
	})
	r.expect("v", map[string]string{"1": `{"di":null,"ds":null,"dn":null}`})
}

// Expression: `n` (bigint) into a field of type double precision.
// Input: n = 9007199254740993 (2^53 + 1).
// Expected: 9007199254740992, what a double precision column holds (README:
// "A result is written as a column of its type holds it, the same in every
// store"; a `real` is rounded to a 4-byte float for the same reason).
// Got: 9007199254740993: integerResult (exprresult.go:54) rounds for real
// but returns the integer unchanged for double precision, so the PostgreSQL
// view column holds ...992 while Redis/Elasticsearch get ...993.
func TestReview9BigintIntoDoubleNotRounded(t *testing.T) {
	r := newReviewRig(t, `
sources:
  o: { topic: t.public.o, key: id, columns: { id: bigint, n: bigint } }
views:
  v:
    from: o
    fields:
      id: id
      d: { expr: "n", type: double precision }
    sinks: { postgres: {} }
`, true)
	r.process([]projector.Record{
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "n", int64(9007199254740993)), 0),
	})
	for engine := range r.engines {
		v, ok := field9(r, engine, "v", "1", "d")
		if got := fmt.Sprint(v); !ok || got != "9007199254740992" {
			t.Errorf("%s: d = %s, want 9007199254740992 (the float8 a double precision column holds)", engine, got)
		}
	}
}

// Expression: `{a: f / 0}` and `[f / 0]`, type jsonb.
// Input: f = 2.5.
// Expected: null and an expression error (README: "At run time an error
// gives null ...: a non-finite number (x / 0)").
// Got: a map/array holding +Inf: exprResult's cleanValue
// (exprresult.go:160) checks -0 but not non-finite floats nested in a json
// result; no JSON can hold it, so the PostgreSQL sink refuses the whole
// document (ErrBadValue) and the dead letter has no value.
func TestReview9NonFiniteInsideJsonbResult(t *testing.T) {
	r := newReviewRig(t, `
sources:
  o: { topic: t.public.o, key: id, columns: { id: bigint, f: double precision } }
views:
  v:
    from: o
    fields:
      id: id
      j: { expr: "{a: f / 0}", type: jsonb }
      k: { expr: "[f / 0]", type: jsonb }
    sinks: { postgres: {} }
`, true)
	r.process([]projector.Record{
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "f", 2.5), 0),
	})
	for engine := range r.engines {
		for _, name := range []string{"j", "k"} {
			v, ok := field9(r, engine, "v", "1", name)
			if !ok || v != nil {
				t.Errorf("%s: %s = %v, want null (a non-finite number)", engine, name, v)
			}
		}
	}
}

// Expression: `n` (bigint) and `note` (text) into fields of type time.
// Expected: validate refuses them (README: "an `expr` a value that fits
// its `type`, checked by `projector validate`"; a time is written as
// HH:MM:SS.ffffff), or, at run time, text that is no time is an error, as
// it is for timestamp and date.
// Got: accepted: fits (projections/expr.go:74) has no case for time (nor
// bytea) and returns true; at run time the integer 5 and the text "hello"
// are written as the time (textResult has no time case), which the
// PostgreSQL sink refuses, the whole document with them.
func TestReview9TimeFieldAcceptsIntegerAndText(t *testing.T) {
	cfg, err := config.Parse("test.yaml", []byte(reviewHead+`
sources:
  o: { topic: t.public.o, key: id, columns: { id: bigint, n: bigint, note: text } }
views:
  v:
    from: o
    fields:
      id: id
      tn: { expr: "n", type: time }
      tt: { expr: "note", type: time }
    sinks: { postgres: {} }
`), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	if _, err := projections.Compile(cfg); err == nil {
		t.Errorf("a bigint and a text expression for fields of type time compile; want them refused")
	}
}
