package projector_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// review10Field returns the field f of view/id on engine name, as text.
func review10Field(t *testing.T, r *reviewRig, name, key, f string) (string, bool) {
	t.Helper()
	s := r.sinks[name]
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.docs[key]
	if !ok || d.Deleted {
		return "", false
	}
	switch x := d.Fields[f].(type) {
	case json.Number:
		return x.String(), true
	case string:
		return x, true
	case nil:
		return "null", true
	default:
		b, _ := json.Marshal(x)
		return string(b), true
	}
}

func review10SQL(t *testing.T, q string) string {
	t.Helper()
	pool, _ := testenv.Postgres(t)
	var s string
	if err := pool.QueryRow(context.Background(), q).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestReview10AvgOfIntegersDigits: view g (group_by k, a: avg of v bigint),
// rows v = 1, 2, 2 in group "x". PostgreSQL's avg(bigint) is numeric with
// select_div_scale's scale: SELECT avg(v) FROM (VALUES (1),(2),(2)) t(v)
// = 1.6666666666666667 (16 decimals). The engines give 1.666666666666667
// (aggregate.go average: exactly 16 significant digits), a different number.
func TestReview10AvgOfIntegersDigits(t *testing.T) {
	r := newReviewRig(t, `
sources:
  o: { topic: t.public.o, format: json, key: [id], columns: { id: bigint, k: text, v: bigint } }
views:
  g: { from: o, group_by: k, fields: { k: k, a: { agg: avg, of: v } }, sinks: { postgres: {} } }
`, true)
	r.process([]projector.Record{
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "k", "x", "v", 1), 0),
		r.rec("o", "c", m("id", 2), nil, m("id", 2, "k", "x", "v", 2), 0),
		r.rec("o", "c", m("id", 3), nil, m("id", 3, "k", "x", "v", 2), 0),
	})
	want := decimal.RequireFromString(review10SQL(t, `SELECT avg(v)::text FROM (VALUES (1::bigint),(2),(2)) t(v)`))
	for name := range r.engines {
		got, ok := review10Field(t, r, name, "g/x", "a")
		if !ok {
			t.Fatalf("%s: no g/x", name)
		}
		if d, err := decimal.NewFromString(got); err != nil || !d.Equal(want) {
			t.Errorf("%s: avg = %s, want %s (PostgreSQL's avg)", name, got, want)
		}
	}
}

// TestReview10MaxOverArray: view g (hi: max of a bigint[], lo: min of a),
// rows a = {9} and {10}. PostgreSQL: SELECT max(a), min(a) FROM (VALUES
// ('{9}'::bigint[]), ('{10}')) t(a) = {10}, {9} (arrays compare element by
// element). compareValues compares an array's JSON text: "[10]" < "[9]".
func TestReview10MaxOverArray(t *testing.T) {
	r := newReviewRig(t, `
sources:
  o: { topic: t.public.o, format: json, key: [id], columns: { id: bigint, k: text, a: "bigint[]" } }
views:
  g: { from: o, group_by: k, fields: { k: k, hi: { agg: max, of: a }, lo: { agg: min, of: a } }, sinks: { postgres: {} } }
`, true)
	r.process([]projector.Record{
		r.rec("o", "c", m("id", 1), nil, m("id", 1, "k", "x", "a", []any{9}), 0),
		r.rec("o", "c", m("id", 2), nil, m("id", 2, "k", "x", "a", []any{10}), 0),
	})
	want := review10SQL(t, `SELECT json_build_object('hi', max(a), 'lo', min(a))::text FROM (VALUES ('{9}'::bigint[]), ('{10}')) t(a)`)
	r.expect("g", map[string]string{"x": want})
}
