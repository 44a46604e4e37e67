package projector_test

import (
	"fmt"
	"testing"

	"github.com/projectorhq/projector/internal/shop"
	"github.com/projectorhq/projector/internal/testenv"
)

// TestScenarios plays the tricky cases of the shop in two deliveries: in
// source order one record per batch, and with the topics delivered one after
// the other in the worst order (the children before their parents) followed
// by a connector restart that replays every record, in batches. Both end
// equal to the oracle.
func TestScenarios(t *testing.T) {
	cases := []struct {
		name   string
		script func(g *shop.Generator, n ids) [][]shop.Message
	}{
		{"item moves out of a cancelled order", func(g *shop.Generator, n ids) [][]shop.Message {
			return [][]shop.Message{
				g.PutUser(n.user(1), "Ada Lovelace", "ada@example.com"),
				g.PutProduct(n.id(1), "teapot"),
				g.PutOrder(n.id(1), n.user(1), "paid"),
				g.PutOrder(n.id(2), n.user(1), "paid"),
				g.PutItem(n.id(1), n.id(1), n.id(1), 2),
				g.PutItem(n.id(2), n.id(1), n.id(1), 1),
				g.PutOrder(n.id(1), n.user(1), "cancelled"),
				g.PutItem(n.id(1), n.id(2), n.id(1), 2),
				g.PutOrder(n.id(1), n.user(1), "paid"), // restored without item 1
			}
		}},
		{"item moves into a cancelled order that is restored", func(g *shop.Generator, n ids) [][]shop.Message {
			return [][]shop.Message{
				g.PutProduct(n.id(1), "lamp"),
				g.PutOrder(n.id(1), n.user(1), "paid"),
				g.PutOrder(n.id(2), n.user(1), "paid"),
				g.PutItem(n.id(1), n.id(2), n.id(1), 1),
				g.PutOrder(n.id(1), n.user(1), "cancelled"),
				g.PutItem(n.id(1), n.id(1), n.id(1), 3),
				g.PutOrder(n.id(1), n.user(1), "shipped"),
			}
		}},
		{"user deleted and created again with the same _id", func(g *shop.Generator, n ids) [][]shop.Message {
			return [][]shop.Message{
				g.PutUser(n.user(1), "Grace Hopper", "grace@example.com"),
				g.PutOrder(n.id(1), n.user(1), "paid"),
				g.PutOrder(n.id(2), n.user(1), "new"),
				g.DeleteUser(n.user(1)),
				g.PutUser(n.user(1), "Grace Brewster", "gb@example.com"),
			}
		}},
		{"deleted user stays deleted whatever is replayed", func(g *shop.Generator, n ids) [][]shop.Message {
			return [][]shop.Message{
				g.PutUser(n.user(2), "Ken Thompson", "ken@example.com"),
				g.PutOrder(n.id(1), n.user(2), "paid"),
				g.PutUser(n.user(2), "Ken T.", "kt@example.com"),
				g.DeleteUser(n.user(2)),
			}
		}},
		{"order deleted and inserted again with the same id", func(g *shop.Generator, n ids) [][]shop.Message {
			return [][]shop.Message{
				g.PutProduct(n.id(1), "drill bits"),
				g.PutOrder(n.id(1), n.user(1), "paid"),
				g.PutOrder(n.id(2), n.user(2), "paid"),
				g.PutItem(n.id(1), n.id(1), n.id(1), 1),
				g.PutItem(n.id(2), n.id(1), n.id(1), 2),
				g.DeleteOrder(n.id(1)),
				g.PutItem(n.id(2), n.id(2), n.id(1), 2),
				g.PutOrder(n.id(1), n.user(3), "new"), // item 1 is still there, item 2 moved
			}
		}},
		{"product deleted while items reference it, one created again", func(g *shop.Generator, n ids) [][]shop.Message {
			return [][]shop.Message{
				g.PutProduct(n.id(1), "hammer"),
				g.PutProduct(n.id(2), "rocks"),
				g.PutOrder(n.id(1), n.user(1), "paid"),
				g.PutOrder(n.id(2), n.user(1), "paid"),
				g.PutItem(n.id(1), n.id(1), n.id(1), 1),
				g.PutItem(n.id(2), n.id(2), n.id(1), 1),
				g.PutItem(n.id(3), n.id(2), n.id(2), 4),
				g.DeleteProduct(n.id(1)),
				g.DeleteProduct(n.id(2)),
				g.PutProduct(n.id(1), "sledgehammer"),
			}
		}},
		{"order moves between users", func(g *shop.Generator, n ids) [][]shop.Message {
			return [][]shop.Message{
				g.PutUser(n.user(1), "Barbara Liskov", "bl@example.com"),
				g.PutUser(n.user(2), "Linus Torvalds", "lt@example.com"),
				g.PutOrder(n.id(1), n.user(1), "paid"),
				g.PutOrder(n.id(2), n.user(1), "paid"),
				g.PutOrder(n.id(3), n.user(2), "paid"),
				g.PutOrder(n.id(1), n.user(2), "paid"),
				g.PutOrder(n.id(2), n.user(3), "shipped"), // user 1 has no order left
				g.PutOrder(n.id(3), n.user(2), "cancelled"),
			}
		}},
		{"items and customer before their order", func(g *shop.Generator, n ids) [][]shop.Message {
			return [][]shop.Message{
				g.PutItem(n.id(1), n.id(9), n.id(5), 1),
				g.PutItem(n.id(2), n.id(9), n.id(6), 2),
				g.PutProduct(n.id(5), "novel"),
				g.PutUser(n.user(4), "Margaret Hamilton", "mh@example.com"),
				g.PutOrder(n.id(9), n.user(4), "paid"),
				g.PutProduct(n.id(6), "chair"),
			}
		}},
	}
	for _, d := range deliveries {
		t.Run(d.name, func(t *testing.T) {
			// One stream for all cases, each with ids of its own: a test
			// database per case would cost more than the cases.
			gen := shop.New(1)
			var msgs []shop.Message
			for i, c := range cases {
				for _, step := range c.script(gen, ids(1000*(i+1))) {
					msgs = append(msgs, step...)
				}
			}
			t.Cleanup(func() {
				if t.Failed() {
					for i, c := range cases {
						t.Logf("ids %d…%d: %s", 1000*(i+1), 1000*(i+1)+999, c.name)
					}
				}
			})
			runScenario(t, gen, d.deliver(msgs), d.batch)
		})
	}
}

// ids numbers the rows of one case: n.id(1) is its order, item or product
// 1, n.user(1) its user 1.
// deliveries are the two orders the scenarios are played in.
var deliveries = []struct {
	name    string
	batch   int
	deliver func([]shop.Message) []shop.Message
}{
	{"in order, a record a batch", 1, func(m []shop.Message) []shop.Message { return m }},
	{"children first, then replayed", 500, childrenFirstReplayed},
}

type ids int64

func (n ids) id(k int64) int64    { return int64(n) + k }
func (n ids) user(k int64) string { return fmt.Sprintf("%024x", int64(n)+k) }

// childrenFirstReplayed delivers whole topics one after the other, items
// first and orders last, then everything again as a connector restart
// replaying from the start would: each key's records stay in order.
func childrenFirstReplayed(msgs []shop.Message) []shop.Message {
	var out []shop.Message
	for _, topic := range []string{shop.TopicOrderItems, shop.TopicProducts, shop.TopicUsers, shop.TopicOrders} {
		for _, m := range msgs {
			if m.Topic == topic {
				out = append(out, m)
			}
		}
	}
	return append(out, out...)
}

func runScenario(t *testing.T, gen *shop.Generator, msgs []shop.Message, batch int) {
	pool, pgURL := testenv.Postgres(t)
	rdb, prefix := testenv.Redis(t)
	cleanRevKeys(t, pool, rdb, prefix)
	kc := newCluster(t, 3, shopTopics...)
	cfg, plan := loadPlan(t, shopConfig(t, kc, pgURL, prefix, "scenario"), nil)
	kc.produce(t, records(msgs)...)
	m := startMember(t, cfg, plan, batch)
	kc.waitCaughtUp(t, "scenario", m.done)
	checkShop(t, gen, pool, rdb, prefix)
	m.drain(t)
}
