package projector_test

import (
	"context"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	pgsink "github.com/projectorhq/projector/sinks/postgres"
	redissink "github.com/projectorhq/projector/sinks/redis"
)

// r37cStores runs one batch of records through an engine on PostgreSQL
// writing to the real PostgreSQL and Redis sinks, and returns the batch's
// refusals and the document id as each store holds it ("" when absent): the
// reader view's row as to_jsonb, the Redis JSON value.
func r37cStores(t *testing.T, yaml string, recs func(r *reviewRig) []projector.Record, id string) (refused []projector.Refusal, pgText, redisText string) {
	t.Helper()
	return r37cBatches(t, yaml, func(r *reviewRig) [][]projector.Record { return [][]projector.Record{recs(r)} }, id)
}

// r37cBatches is r37cStores for several batches, processed in order; the
// refusals are all the batches'.
func r37cBatches(t *testing.T, yaml string, batches func(r *reviewRig) [][]projector.Record, id string) (refused []projector.Refusal, pgText, redisText string) {
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
	for _, recs := range batches(r) {
		b, err := eng.Prepare(ctx, recs)
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.Complete(ctx, b); err != nil {
			t.Fatal(err)
		}
		for _, d := range b.Dead {
			t.Fatalf("dead letter: %v", d.Err)
		}
		refused = append(refused, b.Refused...)
	}
	if err := pool.QueryRow(ctx, `SELECT coalesce((SELECT to_jsonb(v)::text FROM v WHERE id = $1), '')`, id).Scan(&pgText); err != nil {
		t.Fatalf("postgres: %v", err)
	}
	redisText, _ = rdb.Get(ctx, prefix+"v:"+id).Result()
	return refused, pgText, redisText
}

// TestR37cTextRetypedAsByteaIsNotRefusedByPostgres: `validate` takes a
// text column or an expression over a jsonb value typed `bytea` (`{ column:
// note, type: bytea }`, `{ expr: "meta.photo", type: bytea }`), and the
// README promises that a field with its own type "is held to it by the
// same rules, in every store (… a value the type cannot hold is null and
// counted)", and that "a result is written as a column of its type holds
// it, the same in every store". A document carries bytea as base64 ("A
// bytea column holds the bytes the doc carries as base64").
//
// Here the text "hello!" and the URL-safe base64 "-_8=" (a common form of
// bytes inside JSON) are no standard base64. The engine passes them on
// unchanged as the bytea fields' values (projector/exprresult.go
// textResult: bytea falls to the default `return s, true`; nothing checks
// or converts them), Redis stores them, and the PostgreSQL sink's
// decode(…, 'base64') fails: the whole document is refused by PostgreSQL
// (dead-lettered; the table keeps no row for it, or its previous version)
// while Redis serves it. Elasticsearch maps bytea as `binary`, which takes
// standard base64 only, and refuses it too. A rebuild then cannot swap
// (its verification refuses a generation missing a refused document).
// Expected: the field null (and counted) in every store, or the same value
// in every store; not a document one store refuses for good.
func TestR37cTextRetypedAsByteaIsNotRefusedByPostgres(t *testing.T) {
	refused, pgText, redisText := r37cStores(t, `
sources:
  o: { topic: t.public.o, key: id, columns: { id: bigint, note: text, meta: jsonb } }
views:
  v:
    from: o
    fields:
      id: id
      raw: { column: note, type: bytea }
      photo: { expr: "meta.photo", type: bytea }
    sinks: { postgres: {}, redis: { key: "PREFIXv:{id}" } }
`, func(r *reviewRig) []projector.Record {
		return []projector.Record{r.rec("o", "c", m("id", 1), nil, m("id", 1, "note", "hello!", "meta", `{"photo":"-_8="}`), 0)}
	}, "1")
	for _, rf := range refused {
		t.Errorf("store %s refused doc %s: %v (Redis holds %s)", rf.Sink, rf.Doc.ID, rf.Err, redisText)
	}
	if pgText == "" {
		t.Errorf("PostgreSQL holds no document 1, Redis holds %s", redisText)
	}
}
