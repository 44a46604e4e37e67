package projector_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

const aggWhereYAML = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://unused/x" } }
sources:
  orders: { topic: t.public.orders, format: json, key: id, columns: { id: bigint, user_id: text, status: text, total: "numeric(10,2)" } }
  items: { topic: t.public.items, format: json, key: id, columns: { id: bigint, order_id: bigint, qty: integer, rank: integer } }
views:
  stats:
    from: orders
    group_by: user_id
    fields:
      user_id: user_id
      orders: { agg: count }
      paid: { agg: count, where: status == "paid" }
      paid_total: { agg: sum, of: total, where: status == "paid" }
    sinks: { postgres: {} }
  order_view:
    from: orders
    fields:
      id: id
      items: { many: items, on: { order_id: id }, order_by: rank, fields: { id: id } }
      big: { agg: count, of: items, where: qty > 1 }
    sinks: { postgres: {} }
`

// A where on an agg field filters the rows aggregated, on PostgreSQL as in
// memory, and every change that moves a row in or out of the filter, or
// between groups, recomputes the groups it leaves and joins. Rows that
// order_by leaves tied come in key order on both stores.
func TestAggWhereFollowsRowsInAndOut(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, aggWhereYAML, nil)
	pgEng, pgSink, memEng, memSink := twinEngines(t, pool, plan)
	ctx := context.Background()
	pos := int64(0)
	change := func(source string, after map[string]any) {
		t.Helper()
		pos++
		ch := debezium.Change{Kind: debezium.KindChange, Op: debezium.OpUpdate, Position: debezium.Position{Lo: pos}, After: after}
		for _, eng := range []*projector.Engine{pgEng, memEng} {
			if err := eng.ProcessChanges(ctx, source, []debezium.Change{ch}); err != nil {
				t.Fatal(err)
			}
		}
	}
	order := func(id int, user, status, total string) map[string]any {
		return map[string]any{"id": json.Number(strconv.Itoa(id)), "user_id": user, "status": status, "total": total}
	}
	item := func(id, order, qty, rank int) map[string]any {
		return map[string]any{"id": json.Number(strconv.Itoa(id)), "order_id": json.Number(strconv.Itoa(order)),
			"qty": json.Number(strconv.Itoa(qty)), "rank": json.Number(strconv.Itoa(rank))}
	}
	change("orders", order(1, "u1", "paid", "1.50"))
	change("orders", order(2, "u1", "shipped", "1.00"))
	change("items", item(12, 1, 1, 1))
	change("items", item(11, 1, 5, 1))
	checkDocs(t, pgSink, map[string]string{
		"stats/u1":     `{"orders":2,"paid":1,"paid_total":1.50,"user_id":"u1"}`,
		"order_view/1": `{"big":1,"id":1,"items":[{"id":11},{"id":12}]}`,
	})

	change("orders", order(2, "u1", "paid", "1.00"))     // into the filter
	change("orders", order(1, "u1", "refunded", "1.50")) // out of it
	change("items", item(12, 1, 3, 1))                   // into the array's filter
	checkDocs(t, pgSink, map[string]string{
		"stats/u1":     `{"orders":2,"paid":1,"paid_total":1.00,"user_id":"u1"}`,
		"order_view/1": `{"big":2,"id":1,"items":[{"id":11},{"id":12}]}`,
	})

	change("orders", order(2, "u2", "paid", "1.00")) // to another group
	checkDocs(t, pgSink, map[string]string{
		"stats/u1": `{"orders":1,"paid":0,"paid_total":null,"user_id":"u1"}`,
		"stats/u2": `{"orders":1,"paid":1,"paid_total":1.00,"user_id":"u2"}`,
	})

	pgSink.mu.Lock()
	memSink.mu.Lock()
	defer pgSink.mu.Unlock()
	defer memSink.mu.Unlock()
	for k, d := range pgSink.docs {
		if m := memSink.docs[k]; canonical(t, m.Fields) != canonical(t, d.Fields) {
			t.Errorf("%s: memory %s, postgres %s", k, canonical(t, m.Fields), canonical(t, d.Fields))
		}
	}
}
