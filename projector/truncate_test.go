package projector_test

import (
	"testing"

	"github.com/projectorhq/projector/internal/shop"
)

// TestTruncate: TRUNCATE of order_items empties every order's items, and
// items inserted after it stay, in both deliveries of TestScenarios: in
// order, and with the topics one after the other then replayed (the
// truncate, which Debezium sends without a key, lands on any partition, so
// it meets items from before and after it in any order).
func TestTruncate(t *testing.T) {
	script := func(g *shop.Generator, n ids) []shop.Message {
		var msgs []shop.Message
		for _, step := range [][]shop.Message{
			g.PutUser(n.user(1), "Ada Lovelace", "ada@example.com"),
			g.PutProduct(n.id(1), "teapot"),
			g.PutOrder(n.id(1), n.user(1), "paid"),
			g.PutOrder(n.id(2), n.user(1), "paid"),
			g.PutItem(n.id(1), n.id(1), n.id(1), 2),
			g.PutItem(n.id(2), n.id(1), n.id(1), 1),
			g.PutItem(n.id(3), n.id(2), n.id(1), 5),
			g.PutItem(n.id(3), n.id(1), n.id(1), 6), // moved, then truncated
			g.TruncateItems(),
			g.PutItem(n.id(2), n.id(2), n.id(1), 7), // the same id again, after
			g.PutItem(n.id(4), n.id(1), n.id(1), 1),
			g.PutOrder(n.id(2), n.user(1), "shipped"),
		} {
			msgs = append(msgs, step...)
		}
		return msgs
	}
	for _, d := range deliveries {
		t.Run(d.name, func(t *testing.T) {
			gen := shop.New(1)
			msgs := script(gen, ids(1000))
			if got := len(gen.Shop.Items); got != 2 {
				t.Fatalf("the oracle holds %d items, want 2", got)
			}
			runScenario(t, gen, d.deliver(msgs), d.batch)
		})
	}
}
