package projector_test

// Hostile review (2) of 8f0dc4a and 8cf5d47 (paged middle fan-out, spill
// only beyond spillRows chunks) and of kept groups shared by identical
// instances. These checks held; they stay as regression tests.

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// r2Spill is spillRows (fanout.go): a level of more than r2Spill chunks
// of rows is paged or spilled.
const r2Spill = 4

// TestReview2SpillThresholdEdges: with a chunk of 2 documents, a user in
// exactly spillRows chunks of orders (held), in one more (spilled), a
// product in exactly that many items (held middle level) and in one more
// (paged middle level): after a rename every document holds the new name,
// on PostgreSQL and in memory, and no write holds more than a chunk.
func TestReview2SpillThresholdEdges(t *testing.T) {
	const c = 2
	for _, n := range []int{r2Spill*c - 1, r2Spill * c, r2Spill*c + 1, 2*r2Spill*c + 1} {
		for _, memory := range []bool{true, false} {
			t.Run(fmt.Sprintf("n=%d/memory=%v", n, memory), func(t *testing.T) {
				var pool *pgxpool.Pool
				if !memory {
					pool, _ = testenv.Postgres(t)
				}
				ctx := context.Background()
				// One level: a user in n orders.
				_, plan := loadPlan(t, reviewHead+chunkYAML, nil)
				s := &chunkSink{viewSink: newViewSink()}
				eng := crEngine(t, plan, pool, c, s)
				for _, batch := range [][]projector.Record{chunkRecords(n), renamed("bob")} {
					if _, err := eng.Process(ctx, batch); err != nil {
						t.Fatal(err)
					}
				}
				checkCustomers(t, s.viewSink, n, "bob")
				if s.largest > c {
					t.Errorf("orders: a write held %d docs, more than a chunk (%d)", s.largest, c)
				}

				// Two levels: a product in n items, each of its own order.
				_, plan2 := loadPlan(t, reviewHead+nestedChunkYAML, nil)
				var pool2 *pgxpool.Pool
				if !memory {
					pool2, _ = testenv.Postgres(t)
				}
				s2 := &chunkSink{viewSink: newViewSink()}
				eng2 := crEngine(t, plan2, pool2, c, s2)
				recs := []projector.Record{chunkRec("products", 1, map[string]any{"id": 7, "name": "old"}, 10)}
				for i := 1; i <= n; i++ {
					recs = append(recs,
						chunkRec("orders", int64(2*i), map[string]any{"id": i, "status": "paid"}, int64(10+2*i)),
						chunkRec("items", int64(2*i+1), map[string]any{"id": 100 + i, "order_id": i, "product_id": 7}, int64(11+2*i)))
				}
				for _, batch := range [][]projector.Record{recs, {chunkRec("products", 1000, map[string]any{"id": 7, "name": "new"}, 1000)}} {
					if _, err := eng2.Process(ctx, batch); err != nil {
						t.Fatal(err)
					}
				}
				s2.mu.Lock()
				for i := 1; i <= n; i++ {
					d := s2.docs[fmt.Sprintf("order_view/%d", i)]
					want := canonical(t, []any{map[string]any{"id": json.Number(strconv.Itoa(100 + i)), "product": map[string]any{"name": "new"}}})
					if got := canonical(t, d.Fields["items"]); got != want {
						t.Errorf("order %d: items %s, want %s", i, got, want)
					}
				}
				s2.mu.Unlock()
				if s2.largest > c {
					t.Errorf("items: a write held %d docs, more than a chunk (%d)", s2.largest, c)
				}
				if pool != nil {
					for _, p := range []*pgxpool.Pool{pool, pool2} {
						var pending int
						if err := p.QueryRow(ctx, `SELECT count(*) FROM projector.pending_batches`).Scan(&pending); err != nil {
							t.Fatal(err)
						}
						if pending != 0 {
							t.Errorf("%d pending rows left after the batches", pending)
						}
					}
				}
			})
		}
	}
}

// TestReview2RecoverAfterStopMidSpill: a product in 10 spill-sized
// fan-outs of items (the middle level paged, the orders spilled a chunk
// per pending row); the process stops after a few of the spilled rows are
// written. A new instance's Recover writes the rest from the pending rows,
// and none is left.
func TestReview2RecoverAfterStopMidSpill(t *testing.T) {
	const c = 2
	const n = 10 * r2Spill * c
	_, plan := loadPlan(t, reviewHead+nestedChunkYAML, nil)
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	shared := newViewSink()
	s := &chunkSink{viewSink: shared}
	eng := crEngine(t, plan, pool, c, s)
	recs := []projector.Record{chunkRec("products", 1, map[string]any{"id": 7, "name": "old"}, 10)}
	for i := 1; i <= n; i++ {
		recs = append(recs,
			chunkRec("orders", int64(2*i), map[string]any{"id": i, "status": "paid"}, int64(10+2*i)),
			chunkRec("items", int64(2*i+1), map[string]any{"id": 100 + i, "order_id": i, "product_id": 7}, int64(11+2*i)))
	}
	if _, err := eng.Process(ctx, recs); err != nil {
		t.Fatal(err)
	}
	var before int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM projector.pending_batches`).Scan(&before); err != nil || before != 0 {
		t.Fatalf("%d pending rows before (%v)", before, err)
	}
	actx, stop := context.WithCancel(ctx)
	s.mu.Lock()
	s.failAt, s.stop = s.writes+5, stop
	s.mu.Unlock()
	if _, err := eng.Process(actx, []projector.Record{chunkRec("products", 1000, map[string]any{"id": 7, "name": "new"}, 1000)}); err == nil {
		t.Fatal("Process returned nil after it was stopped")
	}
	var left int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM projector.pending_batches`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left < n/c/2 {
		t.Fatalf("%d pending rows after the stop: the fan-out did not spill", left)
	}
	restarted := crEngine(t, plan, pool, c, &chunkSink{viewSink: shared})
	if err := restarted.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	shared.mu.Lock()
	for i := 1; i <= n; i++ {
		d := shared.docs[fmt.Sprintf("order_view/%d", i)]
		want := canonical(t, []any{map[string]any{"id": json.Number(strconv.Itoa(100 + i)), "product": map[string]any{"name": "new"}}})
		if got := canonical(t, d.Fields["items"]); got != want {
			t.Errorf("order %d: items %s, want %s", i, got, want)
		}
	}
	shared.mu.Unlock()
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM projector.pending_batches`).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d pending rows after Recover (%v)", left, err)
	}
}

// TestReview2IdenticalInstancesKeepTrusting: two instances of the same
// file alternate batches into the same groups: neither stops trusting the
// groups the other keeps (one listing, no group distrusted), and every
// group equals its rows.
func TestReview2IdenticalInstancesKeepTrusting(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	_, plan := loadPlan(t, reviewFromYAML, nil)
	sink := newViewSink()
	a := newEngine(t, pool, plan, sink, nil)
	b := newEngine(t, pool, plan, sink, nil)
	pos := int64(0)
	for i := range 20 {
		eng := []*projector.Engine{a, b}[i%2]
		reviewPut(t, eng, "rows", &pos, 1+i%5, string(rune('a'+i%3)), fmt.Sprintf("%d.00", i))
		var distrusted, listed int
		if err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE verified_at = '-infinity') FROM projector.group_aggs`).Scan(&distrusted); err != nil {
			t.Fatal(err)
		}
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM projector.group_keepers`).Scan(&listed); err != nil {
			t.Fatal(err)
		}
		if distrusted != 0 || listed != 1 {
			t.Fatalf("after batch %d: %d groups distrusted, %d listings (want 0 and 1)", i, distrusted, listed)
		}
	}
	checkDocsAgainstRecompute(t, a, plan, sink, "identical instances")
}
