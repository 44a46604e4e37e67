package projector_test

// The checks and tests of the model workload (model_test.go): the state
// against the model, every doc against a from-scratch recompute, the memory
// engine against PostgreSQL.

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// checkState compares the PostgreSQL state tables with the model.
func checkState(t *testing.T, pool *pgxpool.Pool, g *modelGen) {
	t.Helper()
	ctx := context.Background()
	for source, rows := range g.model {
		got := map[string]string{}
		q := `SELECT key, data, deleted FROM projector.state_` + source
		res, err := pool.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for res.Next() {
			var key string
			var data []byte
			var deleted bool
			if err := res.Scan(&key, &data, &deleted); err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			got[key] = fmt.Sprintf("deleted=%v %s", deleted, canonical(t, m))
		}
		res.Close()
		for key, want := range rows {
			w := fmt.Sprintf("deleted=%v %s", want.deleted, canonical(t, normalizeModel(t, want.data)))
			if got[key] != w {
				t.Errorf("state %s/%s:\n got  %s\n want %s", source, key, got[key], w)
			}
		}
		if len(got) != len(rows) {
			t.Errorf("state %s: %d rows, model %d", source, len(got), len(rows))
		}
	}
}

func normalizeModel(t *testing.T, m map[string]any) map[string]any {
	var out map[string]any
	if err := json.Unmarshal(must(json.Marshal(m)), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkDocsAgainstRecompute recomputes every doc the sink holds (and every
// doc the state lists) from scratch and compares with what the sink holds.
func checkDocsAgainstRecompute(t *testing.T, eng *projector.Engine, plan *projections.Plan, sink *viewSink, label string) {
	t.Helper()
	ctx := context.Background()
	for _, v := range plan.Views {
		ids := map[string]map[string]any{}
		sink.mu.Lock()
		for _, d := range sink.docs {
			if d.View == v.Name {
				ids[d.ID] = d.Key
			}
		}
		sink.mu.Unlock()
		after := ""
		for {
			more, last, err := eng.DocIDs(ctx, v.Name, after, 100)
			if err != nil {
				t.Fatal(err)
			}
			for id, k := range more {
				ids[id] = k
			}
			if last == "" {
				break
			}
			after = last
		}
		want, err := eng.RecomputeDocs(ctx, v.Name, ids)
		if err != nil {
			t.Fatal(err)
		}
		sink.mu.Lock()
		for _, w := range want {
			got, ok := sink.docs[v.Name+"/"+w.ID]
			if !ok {
				if !w.Deleted {
					t.Errorf("%s: %s/%s never written; from scratch it is %s", label, v.Name, w.ID, canonical(t, w.Fields))
				}
				continue
			}
			if got.Deleted != w.Deleted || (!w.Deleted && canonical(t, got.Fields) != canonical(t, w.Fields)) {
				t.Errorf("%s: %s/%s:\n sink         deleted=%v %s\n from scratch deleted=%v %s",
					label, v.Name, w.ID, got.Deleted, canonical(t, got.Fields), w.Deleted, canonical(t, w.Fields))
			}
		}
		sink.mu.Unlock()
	}
}

func compareSinks(t *testing.T, pg, mem *viewSink) {
	t.Helper()
	for k, want := range pg.docs {
		got, ok := mem.docs[k]
		if !ok {
			t.Errorf("%s: missing from the memory engine", k)
			continue
		}
		// Revisions are compared for presence only: PostgreSQL's come from
		// the clock (see revisions.go), the memory state's count.
		if got.Deleted != want.Deleted || (got.Rev > 0) != (want.Rev > 0) || canonical(t, got.Fields) != canonical(t, want.Fields) {
			t.Errorf("%s:\nmemory   rev %d deleted %v %s\npostgres rev %d deleted %v %s",
				k, got.Rev, got.Deleted, canonical(t, got.Fields), want.Rev, want.Deleted, canonical(t, want.Fields))
		}
	}
	for k := range mem.docs {
		if _, ok := pg.docs[k]; !ok {
			t.Errorf("%s: only in the memory engine", k)
		}
	}
}

func newViewSink() *viewSink { return &viewSink{docs: map[string]sinks.Doc{}} }

// TestRandomWorkloadAgainstModel: several seeds and source orders; batches of
// random sizes so that a key occurs in several rounds of a batch and docs
// are reached through fan-out from other sources of the same batch.
func TestRandomWorkloadAgainstModel(t *testing.T) {
	orders := [][]int{{0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}, {2, 1, 4, 0, 3}}
	for i, order := range orders {
		for _, seed := range []uint64{1, 2} {
			t.Run(fmt.Sprintf("order%d/seed%d", i, seed), func(t *testing.T) {
				pool, _ := testenv.Postgres(t)
				ctx := context.Background()
				plan := modelPlan(t, order)
				pgEng, pgSink, memEng, memSink := twinEngines(t, pool, plan)
				g := newModelGen(seed*100 + uint64(i))
				for range 1500 {
					g.step()
				}
				rnd := rand.New(rand.NewPCG(seed, 7))
				for start := 0; start < len(g.recs); {
					n := 1 + rnd.IntN(60)
					batch := g.recs[start:min(start+n, len(g.recs))]
					start += n
					for _, eng := range []*projector.Engine{pgEng, memEng} {
						dead, err := eng.Process(ctx, batch)
						if err != nil {
							t.Fatal(err)
						}
						if len(dead) > 0 {
							t.Fatalf("dead letter: %v", dead[0].Err)
						}
					}
				}
				if g.toast == 0 {
					t.Fatal("no TOAST merges in the workload")
				}
				t.Logf("docs per view [written, deleted]: %v; TOAST merges %d", sinkStats(pgSink), g.toast)
				checkState(t, pool, g)
				compareSinks(t, pgSink, memSink)
				checkDocsAgainstRecompute(t, pgEng, plan, pgSink, "postgres")
				checkDocsAgainstRecompute(t, memEng, plan, memSink, "memory")
			})
		}
	}
}

// TestInstancesShareStateAgainstModel: two PostgreSQL engines on one state, each
// consuming some of the topics concurrently (as two group members with
// different partitions do), writing to one sink guarded by revision. Once
// both are done, every doc equals the doc recomputed from the final state.
func TestInstancesShareStateAgainstModel(t *testing.T) {
	for _, seed := range []uint64{3, 4, 5} {
		t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) {
			pool, _ := testenv.Postgres(t)
			plan := modelPlan(t, []int{0, 1, 2, 3, 4})
			sink := newViewSink()
			a := newEngine(t, pool, plan, sink, nil)
			b := newEngine(t, pool, plan, sink, nil)
			g := newModelGen(seed)
			for range 2000 {
				g.step()
			}
			runSplit(t, g, seed, 30, a, b)
			checkState(t, pool, g)
			checkDocsAgainstRecompute(t, a, plan, sink, "two instances")
		})
	}
}

func sinkStats(s *viewSink) map[string][2]int {
	out := map[string][2]int{}
	for _, d := range s.docs {
		c := out[d.View]
		c[0]++
		if d.Deleted {
			c[1]++
		}
		out[d.View] = c
	}
	return out
}

// TestRecomputeAfterEveryBatch checks after every batch (not only at the end, where
// later changes may have healed a doc a batch missed) that every doc a sink
// holds equals the doc recomputed from the state, on PostgreSQL and in
// memory.
func TestRecomputeAfterEveryBatch(t *testing.T) {
	for i, order := range [][]int{{0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}} {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			pool, _ := testenv.Postgres(t)
			plan := modelPlan(t, order)
			pgEng, pgSink, memEng, memSink := twinEngines(t, pool, plan)
			g := newModelGen(uint64(40 + i))
			for range 800 {
				g.step()
			}
			processTwins(t, g, rand.New(rand.NewPCG(uint64(i), 9)), plan, pgEng, pgSink, memEng, memSink)
		})
	}
}

// runSplit processes g's records on two engines at once: orders, products
// and lines on a, the rest on b, each in batches of 1 to most records.
func runSplit(t *testing.T, g *modelGen, seed uint64, most int, a, b *projector.Engine) {
	t.Helper()
	split := map[bool][]projector.Record{}
	for _, r := range g.recs {
		first := r.Topic == "t.public.orders" || r.Topic == "t.public.products" || r.Topic == "t.public.lines"
		split[first] = append(split[first], r)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for i, eng := range []*projector.Engine{a, b} {
		recs := split[i == 0]
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(seed, uint64(i)))
			for start := 0; start < len(recs); {
				n := 1 + rnd.IntN(most)
				if _, err := eng.Process(context.Background(), recs[start:min(start+n, len(recs))]); err != nil {
					errs <- err
					return
				}
				start += n
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// processTwins processes g's records on both engines in batches of 1 to 25,
// checking after each batch that every doc of each equals the doc
// recomputed from its state.
func processTwins(t *testing.T, g *modelGen, rnd *rand.Rand, plan *projections.Plan, pgEng *projector.Engine, pgSink *viewSink, memEng *projector.Engine, memSink *viewSink) {
	t.Helper()
	for start := 0; start < len(g.recs); {
		n := 1 + rnd.IntN(25)
		batch := g.recs[start:min(start+n, len(g.recs))]
		start += n
		for _, eng := range []*projector.Engine{pgEng, memEng} {
			if _, err := eng.Process(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
		}
		label := fmt.Sprintf("after record %d", start)
		checkDocsAgainstRecompute(t, pgEng, plan, pgSink, "postgres "+label)
		checkDocsAgainstRecompute(t, memEng, plan, memSink, "memory "+label)
		if t.Failed() {
			t.FailNow()
		}
	}
}
