package projector

// Review 31b: a change of a row a group_by view joins on its first
// group_by column (of two) paged through every root row of its value; it
// now walks the group index, a row per group.

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
)

// TestReview31bPartialJoinReadsARowPerGroup: README ("A change
// of the joined row reaches the groups of its values (one root row of
// each is read to find them, so a group of a million rows costs no
// more)"). That holds only for a join on the one group_by column
// (firstRows). A view grouped by [user_id, status] and joined on user_id,
// or grouped by [user_id, email] and joined on both, pages through every
// root row of the user (groupsEmbedding's eachRow), under the state lock
// every instance waits on: a user with a million orders in two groups
// makes each change of the user read a million rows. Kept groups are
// trusted here (just computed), so nothing else reads the group's rows.
func TestReview31bPartialJoinReadsARowPerGroup(t *testing.T) {
	const orders = 3000
	for _, c := range []struct{ name, view string }{
		{"join on one of two group_by columns", `
  v:
    from: orders
    group_by: [user_id, status]
    fields:
      user_id: user_id
      status: status
      n: { agg: count }
      name: { one: users, on: { id: user_id }, column: name }
    sinks: { postgres: {} }
`},
	} {
		t.Run(c.name, func(t *testing.T) {
			pool, _ := testenv.Postgres(t)
			plan := r27ePlan(t, `
sources:
  orders: { topic: t.public.orders, format: json, key: id, columns: { id: bigint, user_id: text, status: text, email: text } }
  users: { topic: t.public.users, format: json, key: id, columns: { id: text, email: text, name: text } }
views:`+c.view)
			sink := &r31bSink{}
			eng, err := New(Options{Plan: plan, Pool: pool, Sinks: []Route{{Sink: sink, Views: []string{"v"}}}})
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			if err := eng.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			pos := int64(0)
			change := func(source string, rows ...map[string]any) {
				t.Helper()
				var chs []debezium.Change
				for _, r := range rows {
					pos++
					chs = append(chs, debezium.Change{Kind: debezium.KindChange, Op: debezium.OpUpdate, Position: debezium.Position{Lo: pos}, After: r})
				}
				if err := eng.ProcessChanges(ctx, source, chs); err != nil {
					t.Fatal(err)
				}
			}
			var rows []map[string]any
			for i := 1; i <= orders; i++ {
				// Two groups of u1 in either view: paid and open, one email.
				rows = append(rows, map[string]any{"id": json.Number(strconv.Itoa(i)), "user_id": "u1",
					"status": []string{"paid", "open"}[i%2], "email": "a@x"})
			}
			change("orders", rows...)
			change("users", map[string]any{"id": "u1", "email": "a@x", "name": "Ada"})
			rec := &r31bStore{store: eng.state}
			eng.state = rec
			change("users", map[string]any{"id": "u1", "email": "a@x", "name": "Ada L."})
			if rec.read > 10 {
				t.Errorf("one change of user u1 (in at most 2 groups of %d orders) read %d rows of orders: the groups' rows, not one of each", orders, rec.read)
			}
			sink.mu.Lock()
			defer sink.mu.Unlock()
			if len(sink.names) == 0 || sink.names[len(sink.names)-1] != "Ada L." {
				t.Errorf("the change of u1 did not reach its groups: names written %v", sink.names)
			}
		})
	}
}
