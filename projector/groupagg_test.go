package projector_test

// Aggregation views keep their groups between batches (groupagg.go): a
// batch takes its changed rows' old values away and adds their new ones.
// These tests run the same random changes through an engine on PostgreSQL,
// which keeps groups, and one in memory, which recomputes every group it
// touches from all its rows, and check that a kept group no longer
// trusted (computed by another definition, or too long ago) is computed
// from its rows again.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

const groupAggYAML = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://unused/x" } }
sources:
  rows: { topic: t.public.rows, format: json, key: id, columns: { id: bigint, g: text, h: integer, amount: "numeric(10,2)", score: double precision, name: text, at: timestamptz, flag: text, price: numeric } }
views:
  by_g:
    from: rows
    group_by: g
    where: flag != "x"
    fields:
      g: g
      n: { agg: count }
      flagged: { agg: count, where: flag == "y" }
      amounts: { agg: count, of: amount }
      total: { agg: sum, of: amount }
      mean: { agg: avg, of: amount }
      top: { agg: max, of: amount }
      low: { agg: min, of: amount }
      first_name: { agg: min, of: name }
      last_at: { agg: max, of: at }
      scores: { agg: sum, of: score }
      prices: { agg: sum, of: price }
      mean_price: { agg: avg, of: price }
    sinks: { postgres: {} }
  by_gh:
    from: rows
    group_by: [g, h]
    fields:
      g: g
      h: h
      n: { agg: count }
      low_score: { agg: min, of: score, where: flag == "y" }
      top_name: { agg: max, of: name }
    sinks: { postgres: {} }
`

// groupRow is a random row of the source: few groups, values that often
// tie, nulls, and flags that move it in and out of where.
func groupRow(rnd *rand.Rand, id int) map[string]any {
	maybe := func(v any) any {
		if rnd.IntN(6) == 0 {
			return nil
		}
		return v
	}
	return map[string]any{
		"id":     json.Number(strconv.Itoa(id)),
		"g":      maybe(string(rune('a' + rnd.IntN(4)))),
		"h":      json.Number(strconv.Itoa(rnd.IntN(3))),
		"amount": maybe(fmt.Sprintf("%d.%02d", rnd.IntN(40)-10, rnd.IntN(4)*25)),
		"score":  maybe(json.Number(strconv.FormatFloat(float64(rnd.IntN(50))/4, 'f', -1, 64))),
		"name":   maybe(fmt.Sprintf("n%02d", rnd.IntN(12))),
		"at":     maybe(time.Date(2026, 1, 1+rnd.IntN(20), rnd.IntN(3), 0, 0, 0, time.UTC).Format(time.RFC3339)),
		"flag":   []string{"x", "y", "n"}[rnd.IntN(3)],
		"price":  maybe([]string{"1", "2.5", "0.125", "-3.75", "10"}[rnd.IntN(5)]),
	}
}

// TestKeptGroupsEqualRecomputed: 400 batches of random inserts, updates
// (moving rows between groups, in and out of where, taking away the min or
// max) and deletes, several changes of a row in one batch; after every
// batch each group on PostgreSQL equals the one the memory engine computes
// from all its rows.
func TestKeptGroupsEqualRecomputed(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("PROJECTOR_GROUPAGG_SEED"); s != "" {
		seed = must(strconv.ParseUint(s, 10, 64))
	}
	rnd := rand.New(rand.NewPCG(seed, 1))
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, groupAggYAML, nil)
	pgEng, pgSink, memEng, memSink := twinEngines(t, pool, plan)
	ctx := context.Background()
	pos := int64(0)
	for batch := range 400 {
		var changes []debezium.Change
		for range 1 + rnd.IntN(25) {
			pos++
			id := 1 + rnd.IntN(40)
			ch := debezium.Change{Kind: debezium.KindChange, Op: debezium.OpUpdate, Position: debezium.Position{Lo: pos}, After: groupRow(rnd, id)}
			if rnd.IntN(7) == 0 {
				ch.Op, ch.After, ch.Before = debezium.OpDelete, nil, map[string]any{"id": json.Number(strconv.Itoa(id))}
			}
			changes = append(changes, ch)
		}
		for _, eng := range []*projector.Engine{pgEng, memEng} {
			if err := eng.ProcessChanges(ctx, "rows", changes); err != nil {
				t.Fatalf("seed %d, batch %d: %v", seed, batch, err)
			}
		}
		if diff := sinkDiff(t, pgSink, memSink); diff != "" {
			t.Fatalf("seed %d (PROJECTOR_GROUPAGG_SEED), batch %d: kept groups differ from recomputed ones:\n%s", seed, batch, diff)
		}
	}
	var kept int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM projector.group_aggs`).Scan(&kept); err != nil || kept == 0 {
		t.Fatalf("PostgreSQL kept %d groups (%v): the test did not exercise kept groups", kept, err)
	}
}

// sinkDiff lists the docs two sinks hold differently ("" when none).
func sinkDiff(t *testing.T, a, b *viewSink) string {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	show := func(s *viewSink, k string) string {
		d, ok := s.docs[k]
		if !ok || d.Deleted {
			return "absent"
		}
		return canonical(t, d.Fields)
	}
	keys := map[string]bool{}
	for k := range a.docs {
		keys[k] = true
	}
	for k := range b.docs {
		keys[k] = true
	}
	diff := ""
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if x, y := show(a, k), show(b, k); x != y {
			diff += fmt.Sprintf("%s:\n  kept       %s\n  recomputed %s\n", k, x, y)
		}
	}
	return diff
}

// TestUntrustedGroupsAreRecomputed: a kept group out of step with its rows
// (as an instance of an earlier version, which kept no groups, leaves it
// when it writes the state during a rolling upgrade) is computed from its
// rows again by the first batch touching it once it is older than the
// trust period, or once the view's definition changed.
func TestUntrustedGroupsAreRecomputed(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, groupAggYAML, nil)
	pgEng, pgSink, _, _ := twinEngines(t, pool, plan)
	ctx := context.Background()
	pos := int64(0)
	put := func(eng *projector.Engine, id int, g, amount string) {
		t.Helper()
		pos++
		after := map[string]any{"id": json.Number(strconv.Itoa(id)), "g": g, "h": json.Number("1"), "amount": amount, "flag": "n"}
		if err := eng.ProcessChanges(ctx, "rows", []debezium.Change{{Kind: debezium.KindChange, Op: debezium.OpUpdate, Position: debezium.Position{Lo: pos}, After: after}}); err != nil {
			t.Fatal(err)
		}
	}
	total := func() string {
		t.Helper()
		pgSink.mu.Lock()
		defer pgSink.mu.Unlock()
		return canonical(t, []any{pgSink.docs["by_g/a"].Fields["n"], pgSink.docs["by_g/a"].Fields["total"]})
	}
	put(pgEng, 1, "a", "1.00")
	put(pgEng, 2, "a", "2.00")
	// Out of step: the kept group lost row 2.
	corrupt := func(age string) {
		t.Helper()
		if _, err := pool.Exec(ctx, `UPDATE projector.group_aggs SET verified_at = now() - $1::interval,
			agg = json_build_object('rows', 1, 'cols', json_build_object('g', 'a'), 'fields',
				(agg::jsonb->'fields') || jsonb_build_object('n', jsonb_build_object('n', 1), 'total', jsonb_build_object('n', 1, 'sum', '1.00', 'scales', jsonb_build_object('2', 1))))
			WHERE view = 'by_g' AND group_id = 'a'`, age); err != nil {
			t.Fatal(err)
		}
	}
	corrupt("1 minute")
	put(pgEng, 3, "a", "4.00")
	if got := total(); got != `[2,5.00]` {
		t.Fatalf("a group trusted within its period takes the change: n, total = %s, want [2,5.00] (the test's corruption did not take)", got)
	}
	corrupt("11 minutes")
	put(pgEng, 4, "a", "8.00")
	if got, want := total(), `[4,15.00]`; got != want {
		t.Errorf("a group older than the trust period: n, total = %s, want %s (recomputed from its rows)", got, want)
	}
	// Another definition of the view: its kept groups are not trusted.
	corrupt("1 minute")
	changed := replaceOnce(t, groupAggYAML, `where: flag != "x"`, `where: flag != "z"`)
	_, plan2 := loadPlan(t, changed, nil)
	eng2 := newEngine(t, pool, plan2, pgSink, nil)
	put(eng2, 5, "a", "16.00")
	if got, want := total(), `[5,31.00]`; got != want {
		t.Errorf("a group kept by another definition: n, total = %s, want %s (recomputed from its rows)", got, want)
	}
}
