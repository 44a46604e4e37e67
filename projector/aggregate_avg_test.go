package projector_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

const aggRigYAML = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://unused/x" } }
sources:
  orders: { topic: t.public.orders, format: json, key: id, columns: { id: bigint, user_id: text, status: text, total: "numeric(30,20)", amount: numeric } }
views:
  stats:
    from: orders
    where: status != "cancelled"
    group_by: user_id
    fields:
      user_id: user_id
      n: { agg: count }
      avg_total: { agg: avg, of: total }
      avg_amount: { agg: avg, of: amount }
    sinks: { postgres: {} }
`

type aggRig struct {
	t    *testing.T
	pool *pgxpool.Pool
	eng  *projector.Engine
	sink *viewSink
	pos  int64
}

func newAggRig(t *testing.T) *aggRig {
	t.Helper()
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, aggRigYAML, nil)
	sink := newViewSink()
	eng := newEngine(t, pool, plan, sink, nil)
	return &aggRig{t: t, pool: pool, eng: eng, sink: sink}
}

func (r *aggRig) upsert(rows ...map[string]any) {
	r.t.Helper()
	chs := make([]debezium.Change, 0, len(rows))
	for _, row := range rows {
		r.pos++
		chs = append(chs, debezium.Change{Kind: debezium.KindChange, Op: debezium.OpUpdate, Position: debezium.Position{Lo: r.pos}, After: row})
	}
	if err := r.eng.ProcessChanges(context.Background(), "orders", chs); err != nil {
		r.t.Fatal(err)
	}
}

func (r *aggRig) del(id int) {
	r.t.Helper()
	r.pos++
	ch := debezium.Change{Kind: debezium.KindChange, Op: debezium.OpDelete, Position: debezium.Position{Lo: r.pos},
		Before: map[string]any{"id": json.Number(strconv.Itoa(id))}}
	if err := r.eng.ProcessChanges(context.Background(), "orders", []debezium.Change{ch}); err != nil {
		r.t.Fatal(err)
	}
}

func (r *aggRig) doc(key string) (map[string]any, bool) {
	r.sink.mu.Lock()
	defer r.sink.mu.Unlock()
	d, ok := r.sink.docs[key]
	if !ok || d.Deleted {
		return nil, false
	}
	return d.Fields, true
}

func aggOrder(id int, user, status, total, amount string) map[string]any {
	m := map[string]any{"id": json.Number(strconv.Itoa(id)), "user_id": user, "status": status}
	if total != "" {
		m["total"] = json.Number(total)
	}
	if amount != "" {
		m["amount"] = json.Number(amount)
	}
	return m
}

// sqlAvg is what PostgreSQL's avg gives over the values.
func sqlAvg(t *testing.T, pool *pgxpool.Pool, typ string, vals ...string) decimal.Decimal {
	t.Helper()
	var s string
	if err := pool.QueryRow(context.Background(), `SELECT avg(v::`+typ+`)::text FROM unnest($1::text[]) v`, vals).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return decimal.RequireFromString(s)
}

// TestAvgKeepsInputDigits: an average keeps at least its inputs' decimals
// and 16 significant digits, as PostgreSQL's avg: rounded to 16 decimals,
// an average of numeric(30,20) values would lose digits its inputs have,
// and an average of small numbers would come out 0.
func TestAvgKeepsInputDigits(t *testing.T) {
	r := newAggRig(t)
	r.upsert(
		aggOrder(1, "u1", "paid", "1.00000000000000000001", "0.00000000000000000002"),
		aggOrder(2, "u1", "paid", "1.00000000000000000003", "0.00000000000000000004"),
	)
	d, ok := r.doc("stats/u1")
	if !ok {
		t.Fatal("no doc stats/u1")
	}
	for _, c := range []struct {
		field, typ string
		vals       []string
	}{
		{"avg_total", "numeric(30,20)", []string{"1.00000000000000000001", "1.00000000000000000003"}},
		{"avg_amount", "numeric", []string{"0.00000000000000000002", "0.00000000000000000004"}},
	} {
		want := sqlAvg(t, r.pool, c.typ, c.vals...)
		got, err := decimal.NewFromString(asText(d[c.field]))
		if err != nil || !got.Equal(want) {
			t.Errorf("%s = %v, want %s (PostgreSQL's avg)", c.field, d[c.field], want)
		}
	}
}

func asText(v any) string {
	switch x := v.(type) {
	case json.Number:
		return x.String()
	case string:
		return x
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestAggEmptyGroupDeletedAndRestored: a group emptied by the view's where or by a
// delete is deleted, and comes back when a row returns.
func TestAggEmptyGroupDeletedAndRestored(t *testing.T) {
	r := newAggRig(t)
	r.upsert(aggOrder(1, "u1", "paid", "1.5", ""))
	if _, ok := r.doc("stats/u1"); !ok {
		t.Fatal("no stats/u1")
	}
	r.upsert(aggOrder(1, "u1", "cancelled", "1.5", ""))
	if d, ok := r.doc("stats/u1"); ok {
		t.Errorf("cancelled only order: stats/u1 = %v, want deleted", d)
	}
	r.upsert(aggOrder(1, "u1", "paid", "1.5", ""))
	if _, ok := r.doc("stats/u1"); !ok {
		t.Error("restored order: stats/u1 missing")
	}
	r.del(1)
	if d, ok := r.doc("stats/u1"); ok {
		t.Errorf("deleted only order: stats/u1 = %v, want deleted", d)
	}
	r.upsert(aggOrder(1, "u1", "paid", "2.5", ""))
	if d, ok := r.doc("stats/u1"); !ok || asText(d["n"]) != "1" {
		t.Errorf("recreated: stats/u1 = %v", d)
	}
}
