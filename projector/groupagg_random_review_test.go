package projector_test

// Review of kept groups (groupagg.go): random changes of every kind a
// source can send — full rows, TOAST merges, MongoDB patches ($set and
// $unset), deletes, truncates, replays of older positions, several changes
// of a key in one batch — into group_by views over declared and undeclared
// columns, with NaN and infinities, unscaled numerics, floats, dates and
// expressions that fail. After every batch each group kept on PostgreSQL
// must equal the one the memory engine recomputes from all its rows.

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

const reviewGroupYAML = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://unused/x" } }
sources:
  rows: { topic: t.public.rows, format: json, key: id, columns: { id: bigint, g: text, h: integer, amount: "numeric(10,2)", score: double precision, tiny: real, name: text, at: timestamptz, day: date, flag: text, price: numeric, big: bigint } }
  free: { topic: t.public.free, format: json, key: id }
views:
  by_g:
    from: rows
    group_by: g
    where: flag != "x"
    fields:
      g: g
      n: { agg: count }
      flagged: { agg: count, where: flag == "y" }
      overflowing: { agg: count, where: big * 4 > 0 }
      named: { agg: count, where: name > "n05" }
      amounts: { agg: count, of: amount }
      total: { agg: sum, of: amount }
      mean: { agg: avg, of: amount }
      top: { agg: max, of: amount }
      low: { agg: min, of: amount }
      first_name: { agg: min, of: name }
      last_at: { agg: max, of: at }
      first_day: { agg: min, of: day }
      scores: { agg: sum, of: score }
      mean_score: { agg: avg, of: score }
      tinies: { agg: sum, of: tiny }
      prices: { agg: sum, of: price }
      mean_price: { agg: avg, of: price }
      top_price: { agg: max, of: price }
      low_price: { agg: min, of: price }
      bigs: { agg: sum, of: big }
    sinks: { postgres: {} }
  by_gh:
    from: rows
    group_by: [g, h]
    where: h != 2 or flag == "y"
    fields:
      g: g
      h: h
      n: { agg: count }
      low_score: { agg: min, of: score, where: flag == "y" }
      top_name: { agg: max, of: name }
      prices: { agg: sum, of: price, where: amount > 0 }
    sinks: { postgres: {} }
  free_g:
    from: free
    group_by: g
    where: flag != "x"
    fields:
      g: g
      n: { agg: count }
      total: { agg: sum, of: amount }
      mean: { agg: avg, of: amount }
      top: { agg: max, of: amount }
      low_name: { agg: min, of: name }
      flagged: { agg: count, where: flag == "y" }
    sinks: { postgres: {} }
`

// reviewRow is a random full row. Every numeric value has one text, so
// that ties of min and max never differ in their text.
func reviewRow(rnd *rand.Rand, id int, undeclared bool) map[string]any {
	maybe := func(v any) any {
		if rnd.IntN(6) == 0 {
			return nil
		}
		return v
	}
	amounts := []string{"-3.25", "0.00", "1.50", "9.99", "10.00", "49.99", "100.00"}
	r := map[string]any{
		"id":   json.Number(strconv.Itoa(id)),
		"g":    maybe(string(rune('a' + rnd.IntN(4)))),
		"name": maybe(fmt.Sprintf("n%02d", rnd.IntN(12))),
		"flag": []string{"x", "y", "n"}[rnd.IntN(3)],
	}
	if undeclared {
		r["amount"] = maybe(json.Number(amounts[rnd.IntN(len(amounts))]))
		return r
	}
	r["h"] = json.Number(strconv.Itoa(rnd.IntN(3)))
	r["amount"] = maybe(amounts[rnd.IntN(len(amounts))])
	r["score"] = maybe(json.Number([]string{"0.1", "0.2", "0.3", "179769313486231570000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", "-2.5", "0.000001"}[rnd.IntN(6)]))
	r["tiny"] = maybe(json.Number([]string{"0.1", "340000000000000000000000000000000000000", "0.2"}[rnd.IntN(3)]))
	r["at"] = maybe(time.Date(2026, 1, 1+rnd.IntN(20), rnd.IntN(3), 0, 0, 0, time.UTC).Format(time.RFC3339))
	r["day"] = maybe(time.Date(2026, 2, 1+rnd.IntN(20), 0, 0, 0, 0, time.UTC).Format("2006-01-02"))
	r["price"] = maybe([]string{"1", "2.50", "0.125", "-3.75", "10", "NaN", "Infinity", "-Infinity"}[rnd.IntN(8)])
	r["big"] = maybe(json.Number([]string{"1", "3", "4611686018427387904", "-2"}[rnd.IntN(4)]))
	return r
}

func TestReviewKeptGroupsRandomChangeKinds(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4}
	if s := os.Getenv("PROJECTOR_REVIEW_SEED"); s != "" {
		seeds = []uint64{must(strconv.ParseUint(s, 10, 64))}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rnd := rand.New(rand.NewPCG(seed, 3))
			pool, _ := testenv.Postgres(t)
			_, plan := loadPlan(t, reviewGroupYAML, nil)
			pgEng, pgSink, memEng, memSink := twinEngines(t, pool, plan)
			ctx := context.Background()
			pos := int64(100)
			live := map[string]map[int]bool{"rows": {}, "free": {}}
			for batch := range 250 {
				source := "rows"
				if rnd.IntN(3) == 0 {
					source = "free"
				}
				undeclared := source == "free"
				var changes []debezium.Change
				for range 1 + rnd.IntN(20) {
					pos++
					id := 1 + rnd.IntN(30)
					key := map[string]any{"id": json.Number(strconv.Itoa(id))}
					ch := debezium.Change{Kind: debezium.KindChange, Op: debezium.OpUpdate, Position: debezium.Position{Lo: pos}, Key: key}
					switch k := rnd.IntN(20); {
					case k < 2:
						ch.Op, ch.Before = debezium.OpDelete, key
						delete(live[source], id)
					case k < 5 && live[source][id]:
						// A TOAST merge: some columns unchanged.
						row := reviewRow(rnd, id, undeclared)
						for _, c := range []string{"g", "amount", "name", "price", "flag"} {
							if rnd.IntN(2) == 0 {
								delete(row, c)
								ch.Unchanged = append(ch.Unchanged, c)
							}
						}
						ch.After = row
					case k < 8 && live[source][id]:
						// A MongoDB partial update.
						row := reviewRow(rnd, id, undeclared)
						p := &debezium.Patch{Set: map[string]any{}}
						for _, c := range []string{"g", "amount", "name", "price", "flag", "score"} {
							if _, ok := row[c]; !ok {
								continue
							}
							switch rnd.IntN(3) {
							case 0:
								if row[c] != nil {
									p.Set[c] = row[c]
								}
							case 1:
								if c != "flag" {
									p.Unset = append(p.Unset, c)
								}
							}
						}
						ch.Patch = p
					case k == 8 && rnd.IntN(3) == 0:
						ch = debezium.Change{Kind: debezium.KindChange, Op: debezium.OpTruncate, Position: debezium.Position{Lo: pos}}
						live[source] = map[int]bool{}
					case k == 9 && pos > 110:
						// A replay of an older position: the guard skips it.
						ch.After = reviewRow(rnd, id, undeclared)
						ch.Position = debezium.Position{Lo: pos - 1 - int64(rnd.IntN(10))}
					default:
						ch.After = reviewRow(rnd, id, undeclared)
						live[source][id] = true
					}
					changes = append(changes, ch)
				}
				for i, eng := range []*projector.Engine{pgEng, memEng} {
					if err := eng.ProcessChanges(ctx, source, changes); err != nil {
						t.Fatalf("seed %d, batch %d, engine %d: %v", seed, batch, i, err)
					}
				}
				if diff := sinkDiff(t, pgSink, memSink); diff != "" {
					t.Fatalf("seed %d, batch %d (%s): kept groups differ from recomputed ones:\n%s", seed, batch, source, diff)
				}
			}
		})
	}
}

// TestReviewKeptGroupsChunked: a batch touching more groups than a chunk
// computes the rest after its transaction (computeIn, without the state
// lock), from the groups it kept: with chunks of one document, every doc
// but one of a batch is computed so.
func TestReviewKeptGroupsChunked(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 5))
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, reviewGroupYAML, nil)
	pgSink, memSink := newViewSink(), newViewSink()
	pgEng, err := projector.New(projector.Options{Plan: plan, Pool: pool, ChunkDocs: 1, Sinks: []projector.Route{{Sink: pgSink, Views: viewNames(plan)}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := pgEng.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	memEng, err := projector.New(projector.Options{Plan: plan, Memory: true, Sinks: []projector.Route{{Sink: memSink, Views: viewNames(plan)}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pos := int64(0)
	for batch := range 120 {
		var changes []debezium.Change
		for range 1 + rnd.IntN(20) {
			pos++
			id := 1 + rnd.IntN(30)
			ch := debezium.Change{Kind: debezium.KindChange, Op: debezium.OpUpdate, Position: debezium.Position{Lo: pos}, After: reviewRow(rnd, id, false)}
			if rnd.IntN(7) == 0 {
				ch.Op, ch.After, ch.Before = debezium.OpDelete, nil, map[string]any{"id": json.Number(strconv.Itoa(id))}
			}
			changes = append(changes, ch)
		}
		for _, eng := range []*projector.Engine{pgEng, memEng} {
			if err := eng.ProcessChanges(ctx, "rows", changes); err != nil {
				t.Fatal(err)
			}
		}
		if diff := sinkDiff(t, pgSink, memSink); diff != "" {
			t.Fatalf("batch %d: kept groups differ from recomputed ones:\n%s", batch, diff)
		}
	}
}

// TestReviewEmptiedGroupsLeaveNoKeptRow: a group whose rows are all
// deleted, truncated, moved to another group or out of the view's where
// leaves no row in projector.group_aggs, and comes back right when rows
// return.
func TestReviewEmptiedGroupsLeaveNoKeptRow(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, groupAggYAML, nil)
	pgEng, pgSink, memEng, memSink := twinEngines(t, pool, plan)
	ctx := context.Background()
	pos := int64(0)
	send := func(chs ...debezium.Change) {
		t.Helper()
		for i := range chs {
			pos++
			chs[i].Kind, chs[i].Position = debezium.KindChange, debezium.Position{Lo: pos}
		}
		for _, eng := range []*projector.Engine{pgEng, memEng} {
			if err := eng.ProcessChanges(ctx, "rows", chs); err != nil {
				t.Fatal(err)
			}
		}
		if diff := sinkDiff(t, pgSink, memSink); diff != "" {
			t.Fatalf("kept groups differ from recomputed ones:\n%s", diff)
		}
	}
	row := func(id int, g, flag string) debezium.Change {
		return debezium.Change{Op: debezium.OpUpdate, After: map[string]any{"id": json.Number(strconv.Itoa(id)), "g": g, "h": json.Number("1"), "amount": "1.00", "flag": flag}}
	}
	del := func(id int) debezium.Change {
		return debezium.Change{Op: debezium.OpDelete, Before: map[string]any{"id": json.Number(strconv.Itoa(id))}}
	}
	kept := func() int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM projector.group_aggs WHERE group_id = 'a' OR group_id LIKE '["a"%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	send(row(1, "a", "n"), row(2, "a", "y"))
	send(del(1), del(2))
	if n := kept(); n != 0 {
		t.Errorf("after its rows were deleted, group a keeps %d rows in group_aggs", n)
	}
	send(row(1, "a", "n"))
	send(row(1, "b", "n"))
	if n := kept(); n != 0 {
		t.Errorf("after its row moved to b, group a keeps %d rows in group_aggs", n)
	}
	send(row(1, "a", "n"))
	send(row(1, "a", "x")) // out of by_g's where; by_gh keeps it
	if n := kept(); n != 1 {
		t.Errorf("with its row out of by_g's where, group a keeps %d rows in group_aggs, want 1 (by_gh's)", n)
	}
	send(debezium.Change{Op: debezium.OpTruncate})
	if n := kept(); n != 0 {
		t.Errorf("after a truncate, group a keeps %d rows in group_aggs", n)
	}
	send(row(3, "a", "n"), row(1, "a", "y"))
}
