package projector_test

// Review 28g: the projection language's semantics against the README.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	pgsink "github.com/projectorhq/projector/sinks/postgres"
	redissink "github.com/projectorhq/projector/sinks/redis"
)

// r28gStores runs records through an engine on PostgreSQL writing to the
// real PostgreSQL and Redis sinks, and gives the fields of view v's
// document id as each store holds them: the reader view's row (to_jsonb)
// and the Redis JSON value.
func r28gStores(t *testing.T, yaml string, recs func(r *reviewRig) []projector.Record, id string) (pgDoc, redisDoc map[string]any) {
	t.Helper()
	ctx := context.Background()
	rdb, prefix := testenv.Redis(t)
	yaml = strings.ReplaceAll(yaml, "PREFIX", prefix)
	_, plan := loadPlan(t, reviewHead+yaml, nil)
	pool, _ := testenv.Postgres(t)
	pg, err := pgsink.New(pool, stack.PostgresViews(plan))
	if err != nil {
		t.Fatal(err)
	}
	if err := pg.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	rs, err := redissink.New(rdb, stack.RedisViews(plan), redissink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := projector.New(projector.Options{Plan: plan, Pool: pool, Sinks: []projector.Route{
		{Sink: pg, Views: viewNames(plan)}, {Sink: rs, Views: viewNames(plan)}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	r := &reviewRig{t: t, plan: plan, lsn: 100}
	dead, err := eng.Process(ctx, recs(r))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dead {
		t.Fatalf("dead letter: %v", d.Err)
	}
	var pgText string
	if err := pool.QueryRow(ctx, `SELECT to_jsonb(v)::text FROM v WHERE id = $1`, id).Scan(&pgText); err != nil {
		t.Fatalf("postgres: %v", err)
	}
	redisText, err := rdb.Get(ctx, prefix+"v:"+id).Result()
	if err != nil {
		t.Fatalf("redis: %v", err)
	}
	return r28gDecode(t, pgText), r28gDecode(t, redisText)
}

func r28gDecode(t *testing.T, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var out map[string]any
	if err := d.Decode(&out); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return out
}

// r28gSame compares two stores' values of a field: numbers (and numeric
// text) by value, anything else as its JSON.
func r28gSame(a, b any) bool {
	num := func(v any) (decimal.Decimal, bool) {
		d, err := decimal.NewFromString(fmt.Sprint(v))
		_, isBool := v.(bool)
		return d, err == nil && v != nil && !isBool
	}
	if da, ok := num(a); ok {
		db, ok := num(b)
		return ok && da.Equal(db)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// TestR28gColumnRetypeSameInEveryStore: column fields with a type of their
// own (config/doc.go: `total: { column: total, type: numeric }`; README:
// "A column field with its own `type: text` is text to the expressions
// after it"): a numeric(10,2) 10.25 as numeric(10,1), a timestamp as date,
// a boolean and an integer as text.
// Expected (README, "A view in YAML"): "A result is written as a column of
// its type holds it, the same in every store: a `date` as `2024-01-02`,
// … a `numeric(p,s)` rounded to `s` decimals …; `true` as `text` is
// `"true"`": every store holds what the PostgreSQL column holds (10.3,
// "2024-01-02", "true", "3").
// Got: PostgreSQL {"a": 10.3, "c": "3", "d": "2024-01-02", "e": "true"},
// Redis {"a":"10.25","c":3,"d":"2024-01-02T03:30:00Z","e":true}: the
// builder (projector/build.go, case projections.KindColumn) copies the
// row's value into the document whatever the field's type, which only the
// PostgreSQL sink's column applies (jsonb_to_recordset casts it).
func TestR28gColumnRetypeSameInEveryStore(t *testing.T) {
	pgDoc, redisDoc := r28gStores(t, `
sources:
  o: { topic: t.public.o, key: id, columns: { id: bigint, total: "numeric(10,2)", created_at: timestamp, qty: integer, flag: boolean } }
views:
  v:
    from: o
    fields:
      id: id
      a: { column: total, type: "numeric(10,1)" }
      c: { column: qty, type: text }
      d: { column: created_at, type: date }
      e: { column: flag, type: text }
    sinks: { postgres: {}, redis: { key: "PREFIXv:{id}" } }
`, func(r *reviewRig) []projector.Record {
		return []projector.Record{r.rec("o", "c", m("id", 1), nil,
			m("id", 1, "total", "10.25", "qty", 3, "created_at", 1704166200000000, "flag", true), 0)} // 2024-01-02T03:30:00
	}, "1")
	for _, f := range []string{"a", "c", "d", "e"} {
		if !r28gSame(pgDoc[f], redisDoc[f]) {
			t.Errorf("field %s: PostgreSQL holds %s, Redis %s; want the same value in every store", f, show28g(pgDoc[f]), show28g(redisDoc[f]))
		}
	}
}

func show28g(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
