package projector_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// TestReviewKeptGroupsTwoInstances: two engines on one PostgreSQL state
// (two members of a consumer group, each with its partitions: disjoint
// keys) apply batches into the same groups at the same time, while a third
// recomputes the groups' docs (a rebuild from the state) in between. Once
// both are done, every group must equal what the memory engine computes
// from all the rows, and the kept groups must equal their rows.
func TestReviewKeptGroupsTwoInstances(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	_, plan := loadPlan(t, groupAggYAML, nil)
	sink := newViewSink()
	engA := newEngine(t, pool, plan, sink, nil)
	engB := newEngine(t, pool, plan, sink, nil)
	engR := newEngine(t, pool, plan, sink, nil)
	memSink := newViewSink()
	memEng, err := projector.New(projector.Options{Plan: plan, Memory: true, Sinks: []projector.Route{{Sink: memSink, Views: viewNames(plan)}}})
	if err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(9, 9))
	// Per instance, its batches: keys of A are odd, keys of B even.
	var batches [2][][]debezium.Change
	var all []debezium.Change
	pos := int64(0)
	for range 60 {
		for inst := range 2 {
			var b []debezium.Change
			for range 1 + rnd.IntN(8) {
				pos++
				id := 2*rnd.IntN(15) + 1 - inst
				ch := debezium.Change{Kind: debezium.KindChange, Op: debezium.OpUpdate, Position: debezium.Position{Lo: pos}, After: groupRow(rnd, id)}
				if rnd.IntN(8) == 0 {
					ch.Op, ch.After, ch.Before = debezium.OpDelete, nil, map[string]any{"id": json.Number(strconv.Itoa(id))}
				}
				b = append(b, ch)
				all = append(all, ch)
			}
			batches[inst] = append(batches[inst], b)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for inst, eng := range []*projector.Engine{engA, engB} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, b := range batches[inst] {
				if err := eng.ProcessChanges(ctx, "rows", b); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	stop := make(chan struct{})
	var rwg sync.WaitGroup
	rwg.Add(1)
	go func() { // a rebuild from the state, over and over
		defer rwg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			ids := map[string]map[string]any{}
			for _, g := range []string{"a", "b", "c", "d"} {
				ids[g] = map[string]any{"g": g}
			}
			docs, err := engR.RecomputeDocs(ctx, "by_g", ids)
			if err != nil {
				errs <- err
				return
			}
			if err := sink.Write(ctx, docs); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	rwg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := memEng.ProcessChanges(ctx, "rows", all); err != nil {
		t.Fatal(err)
	}
	// The memory engine got everything in one batch: compare groups only.
	memSink.mu.Lock()
	for k, d := range memSink.docs {
		if d.View != "by_g" && d.View != "by_gh" {
			delete(memSink.docs, k)
		}
	}
	memSink.mu.Unlock()
	if diff := sinkDiff(t, sink, memSink); diff != "" {
		t.Errorf("after two instances and a rebuild ran at once, groups differ from their rows:\n%s", diff)
	}
	// And the kept groups themselves: recompute everything once the trust
	// period is over (aged here) and compare.
	if _, err := pool.Exec(ctx, `UPDATE projector.group_aggs SET verified_at = verified_at - interval '11 minutes'`); err != nil {
		t.Fatal(err)
	}
	fresh := newViewSink()
	for _, v := range []string{"by_g"} {
		ids := map[string]map[string]any{}
		for _, g := range []string{"a", "b", "c", "d"} {
			ids[g] = map[string]any{"g": g}
		}
		docs, err := engR.ComputeDocs(ctx, v, ids)
		if err != nil {
			t.Fatal(err)
		}
		_ = fresh.Write(ctx, docs)
	}
	for _, g := range []string{"a", "b", "c", "d"} {
		k := fmt.Sprintf("by_g/%s", g)
		if x, y := reviewDoc(t, sink, k), reviewDoc(t, fresh, k); x != y {
			t.Errorf("%s: served %s, recomputed from rows %s", k, x, y)
		}
	}
}
