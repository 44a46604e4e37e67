package projector_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/projectorhq/projector/internal/shop"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// TestInstancesRace runs two engines on one state, as two members of a
// group do, and has them apply the two sides of a join at the same moment,
// again and again: an item and its new order, an item and the product it
// names, an order and its user. Each must see the other's row or be seen by
// the other's recompute; if both look before either commits, a doc misses a
// row for good (the bug TestConvergence found with two members: items
// missing from their orders).
func TestInstancesRace(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	rdb, prefix := testenv.Redis(t)
	cleanRevKeys(t, pool, rdb, prefix)
	kc := newCluster(t, 1, shopTopics...) // the configuration needs brokers; nothing is consumed
	cfg, plan := loadPlan(t, shopConfig(t, kc, pgURL, prefix, "race"), nil)
	ctx := context.Background()
	var engines [2]*projector.Engine
	for i := range engines {
		st, err := stack.Wire(ctx, cfg, plan, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		engines[i] = st.Engine
	}

	gen := shop.New(5)
	n := 30
	if testing.Short() {
		n = 10
	}
	user := func(k int) string { return fmt.Sprintf("%024x", k) }
	offset := int64(0)
	batch := func(msgs ...[]shop.Message) []projector.Record {
		var out []projector.Record
		for _, step := range msgs {
			for _, m := range step {
				out = append(out, projector.Record{Topic: m.Topic, Offset: offset, Key: m.Key, Value: m.Value})
				offset++
			}
		}
		return out
	}
	process := func(e *projector.Engine, recs []projector.Record, start <-chan struct{}, wg *sync.WaitGroup, errs chan<- error) {
		defer wg.Done()
		<-start
		if _, err := e.Process(ctx, recs); err != nil {
			errs <- err
		}
	}
	if _, err := engines[0].Process(ctx, batch(gen.PutOrder(1, user(1), "paid"))); err != nil {
		t.Fatal(err)
	}
	// A user updated many times makes a batch's transaction last: one round
	// of state changes per update.
	tail := func(u string, rounds int) [][]shop.Message {
		out := make([][]shop.Message, rounds)
		for i := range out {
			out[i] = gen.PutUser(u, fmt.Sprintf("Tail %d", i), "tail@example.com")
		}
		return out
	}
	for k := int64(1); k <= int64(n); k++ {
		order, item, other, product := 100+k, 100+k, 1000+k, 100+k
		u := user(int(100 + k))
		first := batch(gen.PutProduct(product, "teapot"), gen.PutUser(u, "Ada", "ada@example.com"))
		if _, err := engines[0].Process(ctx, first); err != nil {
			t.Fatal(err)
		}
		// The first engine looks for what embeds its rows early in a long
		// transaction: the product renamed, the item of an order not yet
		// there, the user changing. The second, in a short one, writes the
		// other side and recomputes while the first is still open: the
		// order, an item naming the product, a new order of the user.
		a := batch(append([][]shop.Message{gen.PutProduct(product, "kettle"), gen.PutItem(item, order, 999, 1),
			gen.PutUser(u, "Ada L.", "al@example.com")}, tail(user(1), 40)...)...)
		b := batch(append([][]shop.Message{gen.PutOrder(order, u, "paid"), gen.PutItem(other, 1, product, 1),
			gen.PutOrder(2000+k, u, "new")}, tail(user(2), 5)...)...)
		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		wg.Add(2)
		go process(engines[0], a, start, &wg, errs)
		go process(engines[1], b, start, &wg, errs)
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	checkShop(t, gen, pool, rdb, prefix)
}
