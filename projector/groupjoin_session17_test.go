package projector_test

import (
	"encoding/json"
	"fmt"
	"testing"
)

// groupJoinYAML embeds in each user's stats the user (a one: join on the
// group_by column), and a field of it through an expression.
const groupJoinYAML = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://unused/x" } }
sources:
  orders: { topic: t.public.orders, format: json, key: id, columns: { id: bigint, user_id: text, status: text, total: "numeric(10,2)" } }
  users: { topic: t.public.users, format: json, key: id, columns: { id: text, name: text, tier: text } }
views:
  stats:
    from: orders
    group_by: user_id
    fields:
      user_id: user_id
      n: { agg: count }
      user: { one: users, on: { id: user_id }, fields: { name: name, tier: tier } }
      tier: { one: users, on: { id: user_id }, column: tier }
      title: { expr: 'user == nil ? user_id : user.name + " (" + string(n) + ")"', type: text }
    sinks: { postgres: {} }
`

// TestGroupByOneJoin: a group_by view embeds the joined row of its group
// (null while there is none), and a change of that row reaches the group's
// document, on PostgreSQL as in memory; a joined row no group holds makes
// no document.
func TestGroupByOneJoin(t *testing.T) {
	for _, memory := range []bool{false, true} {
		t.Run(fmt.Sprintf("memory=%v", memory), func(t *testing.T) {
			sink, change := newChangeRig(t, groupJoinYAML, memory)
			doc := func(id string) string {
				t.Helper()
				sink.mu.Lock()
				defer sink.mu.Unlock()
				d, ok := sink.docs["stats/"+id]
				if !ok {
					return "never written"
				}
				if d.Deleted {
					return "deleted"
				}
				b, _ := json.Marshal(d.Fields)
				return string(b)
			}
			want := func(step, id, w string) {
				t.Helper()
				if got := doc(id); got != w {
					t.Errorf("%s: stats/%s = %s\nwant %s", step, id, got, w)
				}
			}
			change("orders", aggOrder(1, "u1", "paid", "10.00", ""), aggOrder(2, "u1", "paid", "15.00", ""))
			want("no user yet", "u1", `{"n":2,"tier":null,"title":"u1","user":null,"user_id":"u1"}`)
			change("users", map[string]any{"id": "u1", "name": "Ada", "tier": "gold"}, map[string]any{"id": "u9", "name": "Nobody", "tier": "none"})
			want("the user arrives", "u1", `{"n":2,"tier":"gold","title":"Ada (2)","user":{"name":"Ada","tier":"gold"},"user_id":"u1"}`)
			want("a user without orders", "u9", "never written")
			change("users", map[string]any{"id": "u1", "name": "Ada L.", "tier": "gold"})
			want("the user changes", "u1", `{"n":2,"tier":"gold","title":"Ada L. (2)","user":{"name":"Ada L.","tier":"gold"},"user_id":"u1"}`)
			change("orders", aggOrder(3, "u9", "paid", "1.00", ""))
			want("the user's first order", "u9", `{"n":1,"tier":"none","title":"Nobody (1)","user":{"name":"Nobody","tier":"none"},"user_id":"u9"}`)
			change("users", map[string]any{"id": "u1", "name": "Ada L.", "tier": "platinum"})
			want("again, with kept groups", "u1", `{"n":2,"tier":"platinum","title":"Ada L. (2)","user":{"name":"Ada L.","tier":"platinum"},"user_id":"u1"}`)
		})
	}
}

// TestGroupByOneJoinOnPartOfTheGroup: joined on one of two group_by
// columns, a joined row is in every group of its value: a change of it
// reaches each, and none of another user's.
func TestGroupByOneJoinOnPartOfTheGroup(t *testing.T) {
	const cfg = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://unused/x" } }
sources:
  orders: { topic: t.public.orders, format: json, key: id, columns: { id: bigint, user_id: text, status: text, total: "numeric(10,2)" } }
  users: { topic: t.public.users, format: json, key: id, columns: { id: text, name: text } }
views:
  by_status:
    from: orders
    group_by: [user_id, status]
    fields:
      user_id: user_id
      status: status
      n: { agg: count }
      name: { one: users, on: { id: user_id }, column: name }
    sinks: { postgres: {} }
`
	sink, change := newChangeRig(t, cfg, false)
	change("orders", aggOrder(1, "u1", "paid", "1.00", ""), aggOrder(2, "u1", "shipped", "1.00", ""), aggOrder(3, "u2", "paid", "1.00", ""))
	change("users", map[string]any{"id": "u1", "name": "Ada"}, map[string]any{"id": "u2", "name": "Bob"})
	change("users", map[string]any{"id": "u1", "name": "Ada L."})
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for id, name := range map[string]string{`["u1","paid"]`: "Ada L.", `["u1","shipped"]`: "Ada L.", `["u2","paid"]`: "Bob"} {
		if d := sink.docs["by_status/"+id]; d.Fields["name"] != name {
			t.Errorf("by_status/%s: name %v, want %s (doc %v)", id, d.Fields["name"], name, d.Fields)
		}
	}
	if len(sink.docs) != 3 {
		t.Errorf("%d docs, want the 3 groups: %v", len(sink.docs), sink.docs)
	}
}
